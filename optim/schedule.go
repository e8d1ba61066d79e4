package optim

import (
	"fmt"
	"math"
)

// Scheduler is one learning-rate rule in the style of mmengine's param
// schedulers. Factor returns the multiplier it applies at a point of
// training; it is 1 outside [Begin, End).
//
// dp evaluates schedules in closed form: the lr of a group at a step is its
// BaseLR times the product of the active schedulers' factors. This equals
// mmengine's chained (recursive) updates for the usual combinations — a
// linear warm-up by iteration followed by step, multi-step, cosine or poly
// decay — and makes resuming exact, since the lr depends only on the
// position, not on history.
type Scheduler struct {
	Type        string    `yaml:"type"`          // LinearLR, StepLR, MultiStepLR, CosineAnnealingLR, PolyLR, ConstantLR
	ByEpoch     bool      `yaml:"by_epoch"`      // count Begin/End/milestones in epochs (default) or iterations
	Begin       float64   `yaml:"begin"`         // first epoch/iteration the rule applies to (inclusive)
	End         float64   `yaml:"end"`           // last (exclusive); 0 means until the end of training
	StartFac    float64   `yaml:"start_factor"`  // LinearLR: factor at Begin (mmdet's warmup_ratio); ConstantLR: the factor
	EndFac      float64   `yaml:"end_factor"`    // LinearLR: factor at End; default 1
	StepSize    float64   `yaml:"step_size"`     // StepLR
	Milestones  []float64 `yaml:"milestones"`    // MultiStepLR, absolute epochs/iterations
	Gamma       float64   `yaml:"gamma"`         // StepLR, MultiStepLR; default 0.1
	EtaMin      float64   `yaml:"eta_min"`       // CosineAnnealingLR, PolyLR: the lowest lr, absolute
	EtaMinRatio float64   `yaml:"eta_min_ratio"` // CosineAnnealingLR: lowest lr as a fraction of the base lr
	TMax        float64   `yaml:"T_max"`         // CosineAnnealingLR period; default End-Begin
	Power       float64   `yaml:"power"`         // PolyLR; default 1
	// ConvertToIterBased makes a by-epoch rule change every iteration,
	// its epoch counts scaled by the iterations per epoch (mmengine's
	// convert_to_iter_based; timm's per-iteration cosine).
	ConvertToIterBased bool `yaml:"convert_to_iter_based"`
}

// Validate reports a misconfigured scheduler.
func (s Scheduler) Validate() error {
	switch s.Type {
	case "LinearLR", "StepLR", "MultiStepLR", "CosineAnnealingLR", "PolyLR", "ConstantLR":
	default:
		return fmt.Errorf("optim: unknown scheduler type %q (want LinearLR, StepLR, MultiStepLR, CosineAnnealingLR, PolyLR or ConstantLR)", s.Type)
	}
	if s.Type == "StepLR" && s.StepSize <= 0 {
		return fmt.Errorf("optim: StepLR needs step_size > 0, got %g", s.StepSize)
	}
	if s.End != 0 && s.End <= s.Begin {
		return fmt.Errorf("optim: %s: end %g must be after begin %g", s.Type, s.End, s.Begin)
	}
	return nil
}

// Schedule sets the lr of every group from the position in training.
type Schedule struct {
	Rules     []Scheduler
	MaxIters  int // the length of training in iterations (End = 0 of an iteration rule)
	MaxEpochs int // the length of training in epochs (End = 0 of an epoch rule)
	// ItersPerEpoch converts epochs to iterations for rules with
	// ConvertToIterBased.
	ItersPerEpoch int
}

// Factor returns the lr multiplier for a group whose base lr is base
// (absolute eta_min floors are relative to it) at iteration iter of epoch
// epoch (both 0-based and counted over the whole run). By-epoch rules
// change only at epoch boundaries, as mmengine's by-epoch schedulers do.
func (s Schedule) Factor(iter, epoch int, base float64) float64 {
	f := 1.0
	for _, r := range s.Rules {
		f *= s.ruleFactor(r, iter, epoch, base)
	}
	return f
}

// ruleFactor is one rule's multiplier of the base lr.
func (s Schedule) ruleFactor(r Scheduler, iter, epoch int, base float64) float64 {
	t, end := float64(iter), r.End
	if r.ByEpoch && r.ConvertToIterBased {
		ipe := float64(max(s.ItersPerEpoch, 1))
		r.Begin *= ipe
		end *= ipe
		r.TMax *= ipe
		r.StepSize *= ipe
		ms := make([]float64, len(r.Milestones))
		for i, m := range r.Milestones {
			ms[i] = m * ipe
		}
		r.Milestones = ms
		if end == 0 {
			end = float64(s.MaxIters)
		}
	} else if r.ByEpoch {
		t = float64(epoch)
		if end == 0 {
			end = float64(s.MaxEpochs)
		}
	} else if end == 0 {
		end = float64(s.MaxIters)
	}
	if t < r.Begin || t >= end {
		return 1
	}
	pos := t - r.Begin
	end -= r.Begin
	switch r.Type {
	case "LinearLR":
		endFac := r.EndFac
		if endFac == 0 {
			endFac = 1
		}
		return r.StartFac + (endFac-r.StartFac)*math.Min(pos, end)/end
	case "ConstantLR":
		return r.StartFac
	case "StepLR":
		return math.Pow(gamma(r), math.Floor(pos/r.StepSize))
	case "MultiStepLR":
		n := 0
		for _, m := range r.Milestones {
			if t >= m {
				n++
			}
		}
		return math.Pow(gamma(r), float64(n))
	case "CosineAnnealingLR":
		tmax := r.TMax
		if tmax == 0 {
			tmax = end
		}
		minF := r.EtaMinRatio
		if r.EtaMin != 0 && base != 0 {
			minF = r.EtaMin / base
		}
		return minF + (1-minF)*(1+math.Cos(math.Pi*pos/tmax))/2
	case "PolyLR":
		p := r.Power
		if p == 0 {
			p = 1
		}
		minF := 0.0
		if r.EtaMin != 0 && base != 0 {
			minF = r.EtaMin / base
		}
		return minF + (1-minF)*math.Pow(1-pos/end, p)
	}
	return 1
}

func gamma(r Scheduler) float64 {
	if r.Gamma == 0 {
		return 0.1
	}
	return r.Gamma
}

// Apply sets every group's LR for iteration iter of epoch epoch.
func (s Schedule) Apply(groups []*Group, iter, epoch int) {
	for _, g := range groups {
		g.LR = g.BaseLR * s.Factor(iter, epoch, g.BaseLR)
	}
}
