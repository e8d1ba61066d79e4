package models

import (
	"fmt"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// ImageClassifierOptions configures an ImageClassifier; the yaml tags are
// the keys of a config's model mapping (beside type: ImageClassifier).
type ImageClassifierOptions struct {
	// Backbone is the backbone's mapping, built from backbone.Registry. For
	// the official SNN-MLP weights it is SNNMLP with out_indices [3],
	// out_norms false and dense false.
	Backbone config.Node `yaml:"backbone"`
	// Head configures the classification head.
	Head LinearClsHeadOptions `yaml:"head"`
}

// LinearClsHeadOptions configures LinearClsHead.
type LinearClsHeadOptions struct {
	// Type must be "LinearClsHead" (the only head so far).
	Type string `yaml:"type"`
	// NumClasses is the number of classes. Default 1000.
	NumClasses int `yaml:"num_classes"`
	// InChannels is the width of the last backbone output; 0 (the default)
	// takes it from the backbone.
	InChannels int `yaml:"in_channels"`
	// Norm puts GroupNorm(1, C), named "norm", before the pooling, as
	// SNN-MLP's classifier does. Default true.
	Norm bool `yaml:"norm"`
	// Loss is the training loss.
	Loss ClsLossOptions `yaml:"loss"`
	// Seed seeds the random initialisation of the linear layer (trunc
	// normal, std 0.02, bias 0, as the official model). Default 0.
	Seed uint64 `yaml:"seed"`
}

// ClsLossOptions configures the classification loss.
type ClsLossOptions struct {
	// Type is "CrossEntropyLoss" (the default) or "LabelSmoothLoss".
	Type string `yaml:"type"`
	// LabelSmoothVal is ε of LabelSmoothLoss: the target is
	// (1-ε)·onehot + ε/C (mmpretrain's "original" mode, PyTorch's
	// label_smoothing). Required by LabelSmoothLoss; CrossEntropyLoss must
	// leave it 0.
	LabelSmoothVal float64 `yaml:"label_smooth_val"`
	// LossWeight scales the loss. Default 1.
	LossWeight float64 `yaml:"loss_weight"`
}

// DefaultImageClassifierOptions returns the defaults documented on the
// options' fields.
func DefaultImageClassifierOptions() ImageClassifierOptions {
	return ImageClassifierOptions{Head: LinearClsHeadOptions{
		Type:       "LinearClsHead",
		NumClasses: 1000,
		Norm:       true,
		Loss:       ClsLossOptions{Type: "CrossEntropyLoss", LossWeight: 1},
	}}
}

// LinearClsHead maps the last backbone output (N×C×H×W) to class logits:
// optional GroupNorm(1, C), global average pooling, and a Linear layer.
//
// Its layers are registered into the classifier's root module as "norm" and
// "head", so a classifier's state-dict keys are those of the official
// SNN-MLP classification checkpoints: patch_embed.*, layers.*, norm.*,
// head.*.
type LinearClsHead struct {
	Norm *nn.GroupNorm // nil without Norm
	FC   *nn.Linear    // registered as "head"
	opts LinearClsHeadOptions
}

// Forward returns the N×NumClasses logits of x.
func (h *LinearClsHead) Forward(x *nn.Var) *nn.Var {
	if h.Norm != nil {
		x = h.Norm.Forward(x)
	}
	x = nn.AdaptiveAvgPool2d(x, 1, 1)
	x = nn.Reshape(x, x.Shape()[0], x.Shape()[1])
	return h.FC.Forward(x)
}

// ImageClassifier is a backbone followed by a LinearClsHead. It shares the
// backbone's root module, so its parameter names carry no "backbone."
// prefix: an official classification state_dict loads into it as it is.
//
// Loss uses the batch's Labels; Predict returns logits in Result.Logits, and
// the engine's Accuracy metric turns them into top-1/top-5.
type ImageClassifier struct {
	Backbone backbone.Backbone
	Head     *LinearClsHead
}

// NewImageClassifier builds the backbone from its config node and the head
// on its last output.
func NewImageClassifier(o ImageClassifierOptions) (*ImageClassifier, error) {
	if o.Head.Type != "LinearClsHead" {
		return nil, fmt.Errorf("models: ImageClassifier head type %q (want LinearClsHead)", o.Head.Type)
	}
	bb, err := backbone.Build(o.Backbone)
	if err != nil {
		return nil, err
	}
	return NewImageClassifierFrom(bb, o.Head)
}

// NewImageClassifierFrom puts a LinearClsHead on an existing backbone, which
// the classifier then owns (the head's layers are registered into it).
func NewImageClassifierFrom(bb backbone.Backbone, o LinearClsHeadOptions) (*ImageClassifier, error) {
	chans := bb.OutChannels()
	if len(chans) == 0 {
		return nil, fmt.Errorf("models: ImageClassifier: backbone has no outputs")
	}
	in := chans[len(chans)-1]
	switch {
	case o.InChannels != 0 && o.InChannels != in:
		return nil, fmt.Errorf("models: LinearClsHead in_channels %d, but the backbone's last output has %d", o.InChannels, in)
	case o.NumClasses < 1:
		return nil, fmt.Errorf("models: LinearClsHead num_classes %d (want >= 1)", o.NumClasses)
	case o.Loss.Type != "CrossEntropyLoss" && o.Loss.Type != "LabelSmoothLoss":
		return nil, fmt.Errorf("models: LinearClsHead loss type %q (want CrossEntropyLoss or LabelSmoothLoss)", o.Loss.Type)
	case o.Loss.Type == "CrossEntropyLoss" && o.Loss.LabelSmoothVal != 0:
		return nil, fmt.Errorf("models: label_smooth_val %v needs loss type LabelSmoothLoss", o.Loss.LabelSmoothVal)
	case o.Loss.Type == "LabelSmoothLoss" && o.Loss.LabelSmoothVal == 0:
		return nil, fmt.Errorf("models: loss type LabelSmoothLoss needs label_smooth_val (e.g. 0.1)")
	case o.Loss.LabelSmoothVal < 0 || o.Loss.LabelSmoothVal > 1:
		return nil, fmt.Errorf("models: label_smooth_val %v outside [0, 1]", o.Loss.LabelSmoothVal)
	}
	h := &LinearClsHead{opts: o}
	root := bb.Base()
	if o.Norm {
		h.Norm = nn.NewGroupNorm(1, in, nn.GroupNormOptions{})
		root.RegisterModule("norm", h.Norm)
	}
	rng := tensor.NewRNG(o.Seed)
	h.FC = nn.NewLinear(in, o.NumClasses, rng, nn.LinearOptions{})
	nn.TruncNormal(h.FC.Weight.Value, rng, 0, 0.02, -2, 2)
	h.FC.Bias.Value.Zero()
	root.RegisterModule("head", h.FC)
	return &ImageClassifier{Backbone: bb, Head: h}, nil
}

// Base implements nn.Module: the classifier's root is the backbone's.
func (c *ImageClassifier) Base() *nn.ModuleBase { return c.Backbone.Base() }

// Forward returns the features of every backbone output and the logits.
func (c *ImageClassifier) Forward(x *nn.Var) (feats []*nn.Var, logits *nn.Var) {
	feats = c.Backbone.Forward(x)
	return feats, c.Head.Forward(feats[len(feats)-1])
}

// Loss implements Model: the cross-entropy (with label smoothing for
// LabelSmoothLoss) of the batch's logits against Batch.Labels.
func (c *ImageClassifier) Loss(tp *nn.Tape, b *datasets.Batch) (*nn.Var, map[string]float64, error) {
	if len(b.Labels) != b.Inputs.Dim(0) {
		return nil, nil, fmt.Errorf("models: ImageClassifier: %d labels for %d images", len(b.Labels), b.Inputs.Dim(0))
	}
	nc := c.Head.opts.NumClasses
	for i, y := range b.Labels {
		if y < 0 || y >= nc {
			return nil, nil, fmt.Errorf("models: ImageClassifier: label %d of sample %d outside [0, %d)", y, i, nc)
		}
	}
	_, logits := c.Forward(tp.Input(b.Inputs))
	loss := nn.CrossEntropy(logits, b.Labels, nn.CrossEntropyOptions{LabelSmoothing: c.Head.opts.Loss.LabelSmoothVal})
	if w := c.Head.opts.Loss.LossWeight; w != 1 {
		loss = nn.Scale(loss, float32(w))
	}
	return loss, map[string]float64{"loss_cls": float64(loss.Data()[0])}, nil
}

// Predict implements Model: one Result per image holding its logits.
func (c *ImageClassifier) Predict(tp *nn.Tape, b *datasets.Batch) ([]Result, error) {
	_, logits := c.Forward(tp.Input(b.Inputs))
	n, k := logits.Shape()[0], logits.Shape()[1]
	res := make([]Result, n)
	for i := range res {
		res[i].Logits = append([]float32(nil), logits.Data()[i*k:(i+1)*k]...)
	}
	return res, nil
}

// FLOPs implements backbone.FLOPsCounter when the backbone does: the
// backbone's layers, then the final norm (as the backbone's HeadNormFLOPs
// says when it has one, otherwise C·H·W of the last map) and the head
// (C·classes, the official count).
func (c *ImageClassifier) FLOPs(h, w int) []backbone.LayerFLOPs {
	fc, ok := c.Backbone.(backbone.FLOPsCounter)
	if !ok {
		return nil
	}
	out := fc.FLOPs(h, w)
	strides := c.Backbone.OutStrides()
	chans := c.Backbone.OutChannels()
	in := int64(chans[len(chans)-1])
	if c.Head.Norm != nil {
		s := strides[len(strides)-1]
		f := in * int64((h+s-1)/s) * int64((w+s-1)/s)
		if hn, ok := c.Backbone.(interface{ HeadNormFLOPs(h, w int) int64 }); ok {
			f = hn.HeadNormFLOPs(h, w)
		}
		out = append(out, backbone.LayerFLOPs{Name: "norm", Params: 2 * in, FLOPs: f})
	}
	nc := int64(c.Head.opts.NumClasses)
	out = append(out, backbone.LayerFLOPs{Name: "head", Params: in*nc + nc, FLOPs: in * nc})
	return out
}

func init() {
	config.RegisterOptions(Registry, "ImageClassifier", DefaultImageClassifierOptions(),
		func(o ImageClassifierOptions) (Model, error) { return NewImageClassifier(o) })
}
