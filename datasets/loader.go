package datasets

import (
	"errors"
	"fmt"
	"iter"
	"log"
	"sync"
	"sync/atomic"

	"github.com/densepred/dp/tensor"
)

// LoaderOptions configure a Loader; the keys are mmengine's dataloader and
// sampler keys. DefaultLoaderOptions gives the defaults.
type LoaderOptions struct {
	// BatchSize is the number of samples per batch. Default 2.
	BatchSize int `yaml:"batch_size"`
	// NumWorkers is the number of goroutines running Get and the
	// transforms. Default 2; values below 1 mean 1.
	NumWorkers int `yaml:"num_workers"`
	// PrefetchBatches bounds how many batches are being prepared or wait
	// ready beyond the one the caller holds. Default 2.
	PrefetchBatches int `yaml:"prefetch_batches"`
	// Shuffle visits the records in a random order drawn from Seed and the
	// epoch number, so every epoch differs and every run repeats. Default false.
	Shuffle bool `yaml:"shuffle"`
	// Seed seeds the shuffle and every sample's augmentation. Default 0.
	Seed uint64 `yaml:"seed"`
	// DropLast drops a final batch smaller than BatchSize. Default false.
	DropLast bool `yaml:"drop_last"`
	// AspectRatioGrouping batches portrait and landscape images separately
	// (mmdet's AspectRatioBatchSampler), which needs a dataset implementing
	// Sizer. Default false.
	AspectRatioGrouping bool `yaml:"aspect_ratio_grouping"`
	// SkipInvalid logs and drops a record whose reading or transforms fail;
	// otherwise the first such error ends the epoch. Default false.
	SkipInvalid bool `yaml:"skip_invalid"`
	// PadSizeDivisor rounds the batch's height and width up to a multiple
	// of it (mmdet's DetDataPreprocessor pad_size_divisor). Default 1.
	PadSizeDivisor int `yaml:"pad_size_divisor"`
	// PadValue fills padded image pixels. Default 0.
	PadValue float32 `yaml:"pad_value"`
	// SegPadValue fills padded segmentation pixels. Default 255 (ignore).
	SegPadValue int `yaml:"seg_pad_value"`
	// Mean and Std, when set, normalise 8-bit images while they are
	// copied into the batch, (pixel − Mean[c]) / Std[c] per RGB channel, as
	// mmdet 3.x's DetDataPreprocessor does after batching. This saves the
	// pipeline's Normalize and Pad their full-size intermediate tensors.
	// Samples already normalised by Normalize are copied as they are.
	// Default none.
	Mean []float32 `yaml:"mean"`
	Std  []float32 `yaml:"std"`
}

// DefaultLoaderOptions returns the defaults documented on LoaderOptions.
func DefaultLoaderOptions() LoaderOptions {
	return LoaderOptions{BatchSize: 2, NumWorkers: 2, PrefetchBatches: 2, PadSizeDivisor: 1, SegPadValue: 255}
}

// Batch is a collated batch: the images padded at the bottom and right to a
// common size and stacked, with each sample's annotations and meta.
type Batch struct {
	// Inputs is N×C×H×W float32: the samples' Input tensors, or their
	// pixels (0..255, or normalised with LoaderOptions.Mean and Std) when
	// the pipeline has no Normalize.
	Inputs *tensor.Tensor
	// Samples hold boxes, labels, masks and Meta per image; their Image
	// and Input are released once copied into Inputs.
	Samples []*Sample
	// SegMaps is N×H×W, padded with SegPadValue; nil when no sample has a
	// segmentation map.
	SegMaps []uint8
	// Labels holds the classification label per sample.
	Labels []int
	// Indices are the dataset indices of the samples, in batch order.
	Indices []int
}

// Loader reads a dataset through a transform pipeline in worker goroutines
// and yields collated batches in a deterministic order.
//
// A Loader may run one epoch at a time; Batches may be called again for the
// next epoch once the previous iteration has ended.
type Loader struct {
	ds   Dataset
	pipe Transform
	opt  LoaderOptions
	logf func(format string, args ...any)
}

// NewLoader returns a loader over ds applying pipe (nil for none) to every
// sample. It returns an error if the options are inconsistent.
func NewLoader(ds Dataset, pipe Transform, opt LoaderOptions) (*Loader, error) {
	if opt.BatchSize < 1 {
		return nil, fmt.Errorf("datasets: loader batch_size %d, want >= 1", opt.BatchSize)
	}
	if opt.NumWorkers < 1 {
		opt.NumWorkers = 1
	}
	if opt.PrefetchBatches < 1 {
		opt.PrefetchBatches = 1
	}
	if opt.PadSizeDivisor < 1 {
		opt.PadSizeDivisor = 1
	}
	if (opt.Mean != nil || opt.Std != nil) && (len(opt.Mean) != 3 || len(opt.Std) != 3) {
		return nil, fmt.Errorf("datasets: loader mean %v and std %v, want three values each", opt.Mean, opt.Std)
	}
	for _, v := range opt.Std {
		if v == 0 {
			return nil, fmt.Errorf("datasets: loader std %v has a zero", opt.Std)
		}
	}
	if opt.AspectRatioGrouping {
		if _, ok := ds.(Sizer); !ok {
			return nil, fmt.Errorf("datasets: aspect_ratio_grouping needs a dataset that knows image sizes (%T does not)", ds)
		}
	}
	if pipe == nil {
		pipe = Pipeline(nil)
	}
	return &Loader{ds: ds, pipe: pipe, opt: opt, logf: log.Printf}, nil
}

// SetLogf replaces the function skipped records are reported to
// (log.Printf by default).
func (l *Loader) SetLogf(f func(format string, args ...any)) { l.logf = f }

// Len returns the number of batches in an epoch without aspect-ratio
// grouping; with grouping it is an upper bound.
func (l *Loader) Len() int {
	n, b := l.ds.Len(), l.opt.BatchSize
	if l.opt.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// mix derives a seed from several values (SplitMix64 finaliser on a
// running hash), so per-epoch and per-sample streams are independent.
func mix(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// Plan returns the dataset indices of every batch of an epoch, in order.
func (l *Loader) Plan(epoch int) [][]int {
	n := l.ds.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if l.opt.Shuffle {
		order = tensor.NewRNG(mix(l.opt.Seed, uint64(epoch))).Perm(n)
	}
	bs := l.opt.BatchSize
	var plan [][]int
	chunk := func(idx []int) {
		for len(idx) > 0 {
			if len(idx) < bs {
				if !l.opt.DropLast {
					plan = append(plan, idx)
				}
				return
			}
			plan = append(plan, idx[:bs:bs])
			idx = idx[bs:]
		}
	}
	if !l.opt.AspectRatioGrouping {
		chunk(order)
		return plan
	}
	// mmdet AspectRatioBatchSampler: bucket 0 holds portrait images
	// (w < h), bucket 1 the rest; a full bucket is a batch; leftovers of
	// both buckets are batched together at the end.
	sz := l.ds.(Sizer)
	var buckets [2][]int
	for _, i := range order {
		w, h := sz.ImageSize(i)
		b := 1
		if w < h {
			b = 0
		}
		buckets[b] = append(buckets[b], i)
		if len(buckets[b]) == bs {
			plan = append(plan, buckets[b])
			buckets[b] = nil
		}
	}
	chunk(append(buckets[0], buckets[1]...))
	return plan
}

// pending is a batch being prepared. samples and errs are written by
// workers at distinct positions; left counts unfinished positions; the
// worker that finishes the last one collates and closes ready.
type pending struct {
	idx     []int
	samples []*Sample
	errs    []error
	left    atomic.Int32
	ready   chan struct{}
	batch   *Batch
	err     error
}

// Batches returns the batches of the given epoch in plan order. Workers
// prepare up to PrefetchBatches batches ahead. Without SkipInvalid the
// first failing record ends the sequence with an error naming it; breaking
// out of the loop stops the workers.
func (l *Loader) Batches(epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		plan := l.Plan(epoch)
		done := make(chan struct{})
		var wg sync.WaitGroup
		defer func() {
			close(done) // stops the producer and makes workers drain without work
			wg.Wait()
		}()
		type job struct {
			p *pending
			k int
		}
		jobs := make(chan job, l.opt.BatchSize)
		queue := make(chan *pending, l.opt.PrefetchBatches)
		go func() {
			defer close(jobs)
			for _, idx := range plan {
				p := &pending{idx: idx, samples: make([]*Sample, len(idx)), errs: make([]error, len(idx)), ready: make(chan struct{})}
				p.left.Store(int32(len(idx)))
				select {
				case queue <- p:
				case <-done:
					return
				}
				for k := range idx {
					select {
					case jobs <- job{p, k}:
					case <-done:
						return
					}
				}
			}
			close(queue)
		}()
		for w := 0; w < l.opt.NumWorkers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					select {
					case <-done:
						continue
					default:
					}
					i := j.p.idx[j.k]
					j.p.samples[j.k], j.p.errs[j.k] = l.load(i, epoch)
					if j.p.left.Add(-1) == 0 {
						l.finish(j.p)
						close(j.p.ready)
					}
				}
			}()
		}
		for p := range queue {
			<-p.ready
			if p.err != nil {
				yield(nil, p.err)
				return
			}
			if p.batch == nil {
				continue
			}
			if !yield(p.batch, nil) {
				return
			}
		}
	}
}

// load reads and transforms record i with its own generator.
func (l *Loader) load(i, epoch int) (*Sample, error) {
	s, err := l.ds.Get(i)
	if err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(mix(l.opt.Seed, uint64(epoch), uint64(i)))
	if err := l.pipe.Apply(s, rng); err != nil {
		return nil, err
	}
	return s, nil
}

// finish drops failed samples (or records the first failure) and collates.
func (l *Loader) finish(p *pending) {
	var ok []*Sample
	var idx []int
	for k, s := range p.samples {
		err := p.errs[k]
		switch {
		case err == nil:
			ok = append(ok, s)
			idx = append(idx, p.idx[k])
		case errors.Is(err, ErrSkipSample):
		case l.opt.SkipInvalid:
			l.logf("datasets: skipping record %d: %v", p.idx[k], err)
		default:
			if p.err == nil {
				p.err = fmt.Errorf("datasets: record %d: %w", p.idx[k], err)
			}
		}
	}
	if p.err != nil || len(ok) == 0 {
		return
	}
	b, err := Collate(ok, l.opt)
	if err != nil {
		p.err = err
		return
	}
	b.Indices = idx
	p.batch = b
}

// Collate stacks samples into a Batch, padding images at the bottom and
// right with opt.PadValue and segmentation maps with opt.SegPadValue to the
// largest height and width, rounded up to opt.PadSizeDivisor, and
// normalising 8-bit images with opt.Mean and opt.Std when they are set.
// All samples must have the same number of channels.
func Collate(samples []*Sample, opt LoaderOptions) (*Batch, error) {
	div := max(opt.PadSizeDivisor, 1)
	c, H, W := 0, 0, 0
	hasSeg := false
	for _, s := range samples {
		sc, sh, sw := 3, 0, 0
		switch {
		case s.Input != nil:
			shp := s.Input.Shape()
			sc, sh, sw = shp[0], shp[1], shp[2]
		case s.Image != nil:
			sh, sw = s.Image.H, s.Image.W
		default:
			return nil, fmt.Errorf("datasets: collate: sample %d (%s) has no image; the pipeline needs LoadImage", s.Meta.Index, s.Meta.File)
		}
		if c != 0 && sc != c {
			return nil, fmt.Errorf("datasets: collate: sample %d (%s) has %d channels, others %d", s.Meta.Index, s.Meta.File, sc, c)
		}
		c = sc
		H, W = max(H, sh), max(W, sw)
		if s.SegMap != nil {
			hasSeg = true
			H, W = max(H, s.SegMap.H), max(W, s.SegMap.W)
		}
	}
	H = (H + div - 1) / div * div
	W = (W + div - 1) / div * div
	n := len(samples)
	in := tensor.New(n, c, H, W)
	data := in.Data()
	if opt.PadValue != 0 {
		in.Fill(opt.PadValue)
	}
	b := &Batch{Inputs: in, Samples: samples, Labels: make([]int, n)}
	// lut maps an 8-bit value of each channel to its batch value.
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			lut[c][v] = float32(v)
			if opt.Mean != nil {
				lut[c][v] = (float32(v) - opt.Mean[c]) / opt.Std[c]
			}
		}
	}
	if hasSeg {
		b.SegMaps = make([]uint8, n*H*W)
		for i := range b.SegMaps {
			b.SegMaps[i] = uint8(opt.SegPadValue)
		}
	}
	for i, s := range samples {
		plane := data[i*c*H*W:]
		if s.Input != nil {
			shp := s.Input.Shape()
			sh, sw := shp[1], shp[2]
			src := s.Input.Data()
			for ch := 0; ch < c; ch++ {
				for y := 0; y < sh; y++ {
					copy(plane[(ch*H+y)*W:][:sw], src[(ch*sh+y)*sw:][:sw])
				}
			}
		} else {
			img := s.Image
			lr, lg, lb := &lut[0], &lut[1], &lut[2]
			for y := 0; y < img.H; y++ {
				row := img.Pix[3*y*img.W:][:3*img.W]
				r := plane[y*W:][:img.W]
				g := plane[(H+y)*W:][:img.W]
				bl := plane[(2*H+y)*W:][:img.W]
				for x := range r {
					p := row[3*x : 3*x+3 : 3*x+3]
					r[x], g[x], bl[x] = lr[p[0]], lg[p[1]], lb[p[2]]
				}
			}
		}
		if s.SegMap != nil {
			sm := s.SegMap
			for y := 0; y < sm.H; y++ {
				copy(b.SegMaps[(i*H+y)*W:][:sm.W], sm.Pix[y*sm.W:][:sm.W])
			}
		}
		b.Labels[i] = s.Label
		s.Image, s.Input = nil, nil
	}
	return b, nil
}
