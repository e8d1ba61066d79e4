package tools

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitFraction is the share of the memory the process may use that
// the Go runtime is asked to stay under.
const memoryLimitFraction = 0.9

// setMemoryLimit gives the Go runtime a soft memory limit of 90 % of the
// memory this process may use (the cgroup's limit, or the machine's RAM)
// unless GOMEMLIMIT sets one, and returns it (0 if none was set). Without a
// limit the collector lets the heap grow to twice what is live: full-scale
// Mask R-CNN training holds about 12 GB live and was killed for want of
// memory on a 24 GB machine in its third iteration.
func setMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		return string(b)
	}
	limit := memoryLimit(read("/proc/meminfo"), read("/sys/fs/cgroup/memory.max"),
		read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit
}

// memoryLimit returns memoryLimitFraction of the least of the memory sizes
// it is given: /proc/meminfo's MemTotal, a cgroup v2 memory.max and a cgroup
// v1 memory.limit_in_bytes (each empty when absent; "max" or a value past
// the machine's memory means no limit). It returns 0 when it finds none.
func memoryLimit(meminfo, cgroupV2, cgroupV1 string) int64 {
	var least int64
	take := func(n int64) {
		if n > 0 && (least == 0 || n < least) {
			least = n
		}
	}
	for _, line := range strings.Split(meminfo, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				take(kb << 10)
			}
		}
	}
	for _, s := range []string{cgroupV2, cgroupV1} {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			take(n)
		}
	}
	return int64(float64(least) * memoryLimitFraction)
}
