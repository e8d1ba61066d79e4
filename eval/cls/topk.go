package cls

import "fmt"

// TopK accumulates top-k accuracy for several k at once. A sample is
// correct at k when fewer than k classes rank above its label, classes
// ranking by descending score and, among equal scores, by ascending index
// (a stable descending sort; torch.topk leaves the order of ties
// unspecified).
type TopK struct {
	Ks      []int
	correct []int64
	n       int64
}

// NewTopK returns an accumulator for the given k, e.g. NewTopK(1, 5). It
// panics if a k is below 1.
func NewTopK(ks ...int) *TopK {
	for _, k := range ks {
		if k < 1 {
			panic("cls: top-k needs k >= 1")
		}
	}
	return &TopK{Ks: append([]int(nil), ks...), correct: make([]int64, len(ks))}
}

// Add adds one sample: its class scores (logits or probabilities) and its
// label. It returns an error if the label is not a class index.
func (a *TopK) Add(scores []float32, label int) error {
	if label < 0 || label >= len(scores) {
		return fmt.Errorf("cls: label %d outside the %d classes", label, len(scores))
	}
	s := scores[label]
	rank := 0 // classes ranked above the label
	for c, v := range scores {
		if v > s || v == s && c < label {
			rank++
		}
	}
	for i, k := range a.Ks {
		if rank < k {
			a.correct[i]++
		}
	}
	a.n++
	return nil
}

// AddBatch adds n samples whose scores are stored row-major in an n×C
// slice. It returns an error if the sizes disagree or a label is out of
// range.
func (a *TopK) AddBatch(scores []float32, labels []int) error {
	if len(labels) == 0 {
		return nil
	}
	if len(scores)%len(labels) != 0 {
		return fmt.Errorf("cls: %d scores for %d labels", len(scores), len(labels))
	}
	c := len(scores) / len(labels)
	for i, l := range labels {
		if err := a.Add(scores[i*c:(i+1)*c], l); err != nil {
			return fmt.Errorf("cls: sample %d: %w", i, err)
		}
	}
	return nil
}

// Accuracy returns the fraction of samples correct at each of Ks (0 before
// any sample).
func (a *TopK) Accuracy() []float64 {
	out := make([]float64, len(a.Ks))
	if a.n == 0 {
		return out
	}
	for i, c := range a.correct {
		out[i] = float64(c) / float64(a.n)
	}
	return out
}

// Count returns the number of samples added.
func (a *TopK) Count() int64 { return a.n }
