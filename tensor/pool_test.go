package tensor

import "testing"

func TestSizeClass(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{1, 64}, {64, 64}, {65, 128}, {1024, 1024}, {1025, 1152}, {1100, 1152},
		{4096, 4096}, {4097, 4608}, {100000, 106496},
	} {
		if got := sizeClass(c.n); got != c.want {
			t.Errorf("sizeClass(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	for n := 1; n < 1<<20; n = n*3/2 + 1 {
		c := sizeClass(n)
		if c < n || float64(c) > float64(n)*1.125+64 || sizeClass(c) != c {
			t.Fatalf("sizeClass(%d) = %d: not a class of at most 12.5 %% slack", n, c)
		}
	}
}

func TestPoolReusesNearbySizes(t *testing.T) {
	p := NewPool()
	a := p.Get(5000)
	a[0] = 7
	p.Put(a)
	b := p.Get(5100) // same class (5120)
	if &b[:1][0] != &a[:1][0] {
		t.Errorf("a buffer of a nearby size was not reused")
	}
	if len(b) != 5100 || b[0] != 0 {
		t.Errorf("Get returned len %d, first %v; want 5100 zeroed", len(b), b[0])
	}
	p.Put(make([]float32, 1000)) // not a class capacity: dropped
	if len(p.free[1000]) != 0 {
		t.Errorf("a foreign buffer was kept")
	}
}
