package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel runs fn(lo, hi) over [0, n) cut into chunks and returns when all
// are done, on up to GOMAXPROCS threads (the caller being one) that take the
// chunks in turn. Chunks shrink as the range runs out, as OpenMP's guided
// schedule: each holds a 1/(2·threads) share of what is left, and at least
// grain items. A core slowed by other work simply takes fewer, and the last
// chunks are small, so no thread waits long for another at the end. With
// one thread, or n <= grain, fn(0, n) runs on the calling goroutine.
//
// How [0, n) is cut depends only on n, grain and GOMAXPROCS; which goroutine
// runs a chunk varies. A kernel whose chunks write disjoint outputs, each
// computed the same way whatever chunk it falls in, is therefore
// deterministic.
//
// The helpers are long-lived goroutines of a team that, between calls, wait
// for the next one by spinning a little before they sleep, as OpenMP's
// threads do: a training step makes over a thousand calls, and waking a
// sleeping thread costs tens of microseconds on a virtual machine, often
// more than the call's work. A call made while the team is busy (from inside
// a chunk, or from another goroutine) gets goroutines of its own.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	threads := runtime.GOMAXPROCS(0)
	grain = max(grain, 1)
	if threads = min(threads, (n+grain-1)/grain); threads <= 1 {
		fn(0, n)
		return
	}
	j := &job{fn: fn, n: n, grain: grain, share: 2 * threads, helpers: threads - 1}
	if !helpers.mu.TryLock() {
		j.spawn()
		return
	}
	defer helpers.mu.Unlock() // also when fn panics, so the team is not lost
	helpers.run(j)
}

// job is one call of Parallel.
type job struct {
	fn       func(lo, hi int)
	n, grain int
	share    int          // a chunk is 1/share of what is left
	helpers  int          // how many helpers may join
	next     atomic.Int64 // where the next chunk starts
	running  atomic.Int32 // helpers that joined and have not left
}

// work runs chunks until none are left.
func (j *job) work() {
	for {
		lo := int(j.next.Load())
		if lo >= j.n {
			return
		}
		hi := min(j.n, lo+max(j.grain, (j.n-lo+j.share-1)/j.share))
		if j.next.CompareAndSwap(int64(lo), int64(hi)) {
			j.fn(lo, hi)
		}
	}
}

// spawn runs the job on goroutines started for it.
func (j *job) spawn() {
	var wg sync.WaitGroup
	wg.Add(j.helpers)
	for range j.helpers {
		go func() {
			defer wg.Done()
			j.work()
		}()
	}
	j.work()
	wg.Wait()
}

// helpers is the team Parallel shares its chunks with.
var helpers = newTeam()

// team is a set of helper goroutines that take part in the job last
// published. Helper i joins a job when i < job.helpers.
type team struct {
	mu      sync.Mutex // held by the Parallel call that uses the team
	started int        // helpers started; guarded by mu

	seq atomic.Uint64       // incremented after each job is published
	cur atomic.Pointer[job] // the job last published

	park   sync.Mutex // guards parked and pairs with wake
	parked int        // helpers asleep in wake.Wait
	wake   *sync.Cond
}

// helperSpin is how long an idle helper keeps looking for the next job
// before it sleeps.
const helperSpin = 200 * time.Microsecond

func newTeam() *team {
	t := &team{}
	t.wake = sync.NewCond(&t.park)
	return t
}

// run publishes j, works on it and returns once every chunk is done. The
// caller holds t.mu.
func (t *team) run(j *job) {
	for ; t.started < j.helpers; t.started++ {
		go t.helper(t.started)
	}
	t.cur.Store(j)
	t.seq.Add(1)
	t.park.Lock()
	if t.parked > 0 {
		t.wake.Broadcast()
	}
	t.park.Unlock()
	j.work()
	// Every chunk is handed out; wait for the helpers still running one. A
	// helper counts itself in before it takes a chunk, so none is missed.
	for j.running.Load() != 0 {
		runtime.Gosched()
	}
}

// helper is the loop of helper id: wait for a job, join it if asked.
func (t *team) helper(id int) {
	var seen uint64
	for {
		s := t.seq.Load()
		if s == seen {
			t.idle(seen)
			continue
		}
		seen = s
		j := t.cur.Load()
		if id >= j.helpers {
			continue
		}
		j.running.Add(1)
		j.work()
		j.running.Add(-1)
	}
}

// idle returns once a job newer than seen is published: it checks for
// helperSpin, yielding the thread between checks, and then sleeps.
func (t *team) idle(seen uint64) {
	for start := time.Now(); time.Since(start) < helperSpin; {
		if t.seq.Load() != seen {
			return
		}
		runtime.Gosched()
	}
	t.park.Lock()
	for t.seq.Load() == seen {
		t.parked++
		t.wake.Wait()
		t.parked--
	}
	t.park.Unlock()
}
