package tools

import "testing"

func TestMemoryLimit(t *testing.T) {
	const meminfo = "MemTotal:       24683656 kB\nMemFree:        23000000 kB\n"
	ram := int64(24683656) << 10
	ninety := func(n int64) int64 { return int64(float64(n) * 0.9) }
	cases := []struct {
		name              string
		meminfo, cg2, cg1 string
		want              int64
	}{
		{"machine RAM", meminfo, "", "", ninety(ram)},
		{"cgroup v2 without a limit", meminfo, "max\n", "", ninety(ram)},
		{"cgroup v2 limit below RAM", meminfo, "8589934592\n", "", ninety(8 << 30)},
		{"cgroup v1 unlimited", meminfo, "", "9223372036854771712\n", ninety(ram)},
		{"cgroup v1 limit", meminfo, "", "4294967296", ninety(4 << 30)},
		{"nothing readable", "", "", "", 0},
		{"meminfo in other units", "MemTotal: 24 GB\n", "", "", 0},
	}
	for _, c := range cases {
		if got := memoryLimit(c.meminfo, c.cg2, c.cg1); got != c.want {
			t.Errorf("%s: memoryLimit = %d, want %d", c.name, got, c.want)
		}
	}
}
