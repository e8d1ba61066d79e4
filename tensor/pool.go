package tensor

import "sync"

// Pool recycles float32 buffers by exact length, so a training step that
// repeats the same shapes allocates nothing once warm.
//
// A Pool is safe for concurrent use. Buffers handed out by Get are zeroed.
type Pool struct {
	mu   sync.Mutex
	free map[int][][]float32 // buffers of exactly that length, ready for reuse
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{free: make(map[int][][]float32)} }

// Get returns a zeroed buffer of length n, reused when one is free.
func (p *Pool) Get(n int) []float32 {
	b := p.GetDirty(n)
	clear(b)
	return b
}

// GetDirty is Get without zeroing, for callers that overwrite every element.
func (p *Pool) GetDirty(n int) []float32 {
	if p == nil || n == 0 {
		return make([]float32, n)
	}
	p.mu.Lock()
	list := p.free[n]
	if k := len(list); k > 0 {
		b := list[k-1]
		p.free[n] = list[:k-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return make([]float32, n)
}

// Put gives b back to the pool. The caller must not use b afterwards.
func (p *Pool) Put(b []float32) {
	if p == nil || cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	p.mu.Lock()
	p.free[len(b)] = append(p.free[len(b)], b)
	p.mu.Unlock()
}

// New returns a zeroed tensor whose buffer comes from the pool.
func (p *Pool) New(shape ...int) *Tensor {
	return &Tensor{shape: append([]int(nil), shape...), data: p.Get(Numel(shape))}
}

// NewDirty is New without zeroing, for kernels that write every element.
func (p *Pool) NewDirty(shape ...int) *Tensor {
	return &Tensor{shape: append([]int(nil), shape...), data: p.GetDirty(Numel(shape))}
}

// Release gives t's buffer back to the pool and empties t.
func (p *Pool) Release(t *Tensor) {
	if t == nil {
		return
	}
	p.Put(t.data)
	t.data = nil
	t.shape = []int{0}
}
