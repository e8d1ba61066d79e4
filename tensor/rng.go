package tensor

import (
	"math"
	"math/rand/v2"
)

// RNG is dp's seeded random source. It is passed explicitly wherever
// randomness is needed (initialisers, dropout, data augmentation), so a
// seeded run reproduces to the bit. An RNG is not safe for concurrent use.
type RNG struct {
	r *rand.Rand
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	return &RNG{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Split derives an independent generator, e.g. one per data-loader worker.
func (g *RNG) Split() *RNG { return NewRNG(g.r.Uint64()) }

// Uint64 returns a uniformly distributed 64-bit value.
func (g *RNG) Uint64() uint64 { return g.r.Uint64() }

// Float64 returns a uniform value in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// Intn returns a uniform value in [0, n). It panics if n <= 0.
func (g *RNG) Intn(n int) int { return g.r.IntN(n) }

// Uniform returns a uniform value in [lo, hi).
func (g *RNG) Uniform(lo, hi float64) float64 { return lo + (hi-lo)*g.r.Float64() }

// Normal returns a normally distributed value with the given mean and std.
func (g *RNG) Normal(mean, std float64) float64 { return mean + std*g.r.NormFloat64() }

// Perm returns a random permutation of [0, n).
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// FillUniform fills t with uniform values in [lo, hi).
func (g *RNG) FillUniform(t *Tensor, lo, hi float64) {
	for i := range t.data {
		t.data[i] = float32(g.Uniform(lo, hi))
	}
}

// FillNormal fills t with normal values of the given mean and std.
func (g *RNG) FillNormal(t *Tensor, mean, std float64) {
	for i := range t.data {
		t.data[i] = float32(g.Normal(mean, std))
	}
}

// FillTruncNormal fills t with normal values of the given mean and std,
// redrawn until they fall in [lo, hi] (timm's trunc_normal_ semantics; the
// bounds are absolute, not in units of std).
func (g *RNG) FillTruncNormal(t *Tensor, mean, std, lo, hi float64) {
	for i := range t.data {
		for {
			v := g.Normal(mean, std)
			if v >= lo && v <= hi && !math.IsNaN(v) {
				t.data[i] = float32(v)
				break
			}
		}
	}
}
