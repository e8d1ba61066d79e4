package tensor

import "sync"

// Pool recycles float32 buffers, so a training step that repeats the same
// shapes allocates nothing once warm.
//
// Buffers are kept in size classes (capacities rounded up to at most 1/8
// above the request), so inputs whose sizes vary from step to step, as in
// multi-scale training, reuse buffers of nearby sizes instead of keeping one
// set per exact size. At most maxIdle elements are kept idle; a buffer put
// back beyond that is left to the garbage collector.
//
// A Pool is safe for concurrent use. Buffers handed out by Get are zeroed.
type Pool struct {
	mu   sync.Mutex
	free map[int][][]float32 // idle buffers by capacity class
	idle int                 // elements held in free
}

// maxIdle bounds the elements a Pool keeps idle: 1 Gi floats (4 GiB).
const maxIdle = 1 << 30

// sizeClass rounds n up to its class: a multiple of 64 up to 1024, above that
// m·2^k with 9 <= m <= 16 and 2^k <= (n-1)/8, i.e. at most 12.5 % more than n.
func sizeClass(n int) int {
	if n <= 1024 {
		return (n + 63) &^ 63
	}
	shift := 0
	for (n-1)>>shift >= 16 {
		shift++
	}
	return (((n - 1) >> shift) + 1) << shift
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{free: make(map[int][][]float32)} }

// Get returns a zeroed buffer of length n, reused when one is free.
func (p *Pool) Get(n int) []float32 {
	b, reused := p.get(n)
	if reused {
		Zero(b)
	}
	return b
}

// GetDirty is Get without zeroing, for callers that overwrite every element.
func (p *Pool) GetDirty(n int) []float32 {
	b, _ := p.get(n)
	return b
}

// get returns a buffer of length n and whether it was reused; a new one is
// zero, as the runtime makes it.
func (p *Pool) get(n int) ([]float32, bool) {
	if p == nil || n == 0 {
		return make([]float32, n), false
	}
	c := sizeClass(n)
	p.mu.Lock()
	list := p.free[c]
	if k := len(list); k > 0 {
		b := list[k-1]
		p.free[c] = list[:k-1]
		p.idle -= c
		p.mu.Unlock()
		return b[:n], true
	}
	p.mu.Unlock()
	return make([]float32, n, c), false
}

// Zero sets every element of b to 0, on all threads when b is large: the
// clearing of gradient buffers is otherwise a serial stretch of a step.
func Zero(b []float32) {
	Parallel(len(b), 1<<17, func(lo, hi int) { clear(b[lo:hi]) })
}

// Put gives b back to the pool. The caller must not use b afterwards.
func (p *Pool) Put(b []float32) {
	if p == nil || cap(b) == 0 {
		return
	}
	c := cap(b)
	if sizeClass(c) != c {
		return // not from a Pool: its capacity is no class
	}
	p.mu.Lock()
	if p.idle+c <= maxIdle {
		p.free[c] = append(p.free[c], b[:c])
		p.idle += c
	}
	p.mu.Unlock()
}

// New returns a zeroed tensor whose buffer comes from the pool.
func (p *Pool) New(shape ...int) *Tensor {
	return newTensor(shape, p.Get(Numel(shape)))
}

// NewDirty is New without zeroing, for kernels that write every element.
func (p *Pool) NewDirty(shape ...int) *Tensor {
	return newTensor(shape, p.GetDirty(Numel(shape)))
}

// releasedShape is the shape of every released tensor. Shapes are never
// modified in place, so one slice serves them all without an allocation.
var releasedShape = []int{0}

// Release gives t's buffer back to the pool and empties t.
func (p *Pool) Release(t *Tensor) {
	if t == nil {
		return
	}
	p.Put(t.data)
	t.data = nil
	t.shape = releasedShape
}
