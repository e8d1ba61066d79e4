package models

// EncoderDecoder follows mmsegmentation's segmentor of the same name
// (open-mmlab/mmsegmentation, Apache-2.0: mmseg/models/segmentors/
// encoder_decoder.py): backbone, optional neck, a decode head and auxiliary
// heads; whole-image and sliding-window inference; multi-scale and flip
// test-time augmentation as mmseg 0.x's aug_test (softmax probabilities
// averaged at the original image size).

import (
	"fmt"
	"math"
	"strconv"

	"github.com/densepred/dp/backbone"
	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/heads/seg"
	"github.com/densepred/dp/necks"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// EncoderDecoderOptions configure an EncoderDecoder; the yaml tags are the
// keys of a config's model mapping (beside type: EncoderDecoder), as mmseg's.
type EncoderDecoderOptions struct {
	// Backbone is built from backbone.Registry.
	Backbone config.Node `yaml:"backbone"`
	// Neck, if present and not null, is built from necks.Registry with in_channels
	// defaulting to the backbone's output channels.
	Neck config.Node `yaml:"neck"`
	// DecodeHead is built from seg.Registry. Its in_index defaults to
	// every feature map and its in_channels to the selected maps' widths.
	DecodeHead config.Node `yaml:"decode_head"`
	// AuxiliaryHead is one head mapping or a list of them, trained with the
	// decode head and unused at inference (mmseg's auxiliary_head); null
	// or absent for none.
	AuxiliaryHead config.Node `yaml:"auxiliary_head"`
	// TrainCfg is mmseg's train_cfg, empty for these models.
	TrainCfg struct{} `yaml:"train_cfg"`
	// TestCfg configures inference.
	TestCfg SegTestConfig `yaml:"test_cfg"`
}

// SegTestConfig is mmseg's test_cfg, plus the test-time augmentation that
// mmseg configures in its test pipeline (MultiScaleFlipAug's img_ratios and
// flip).
type SegTestConfig struct {
	// Mode is "whole" (the default: the network sees the whole padded
	// batch) or "slide" (crop_size windows every stride pixels, logits
	// averaged where windows overlap).
	Mode string `yaml:"mode"`
	// CropSize is the sliding window's (height, width); slide mode only.
	CropSize [2]int `yaml:"crop_size"`
	// Stride is the window step (height, width); slide mode only.
	Stride [2]int `yaml:"stride"`
	// ImgRatios turn on multi-scale testing: each image is resized by each
	// ratio (of its test-pipeline size), e.g. [0.5, 0.75, 1.0, 1.25, 1.5,
	// 1.75]. Empty: single scale.
	ImgRatios []float64 `yaml:"img_ratios"`
	// Flip adds a horizontally flipped copy of every scale.
	Flip bool `yaml:"flip"`
}

// DefaultEncoderDecoderOptions returns whole-image inference without
// augmentation.
func DefaultEncoderDecoderOptions() EncoderDecoderOptions {
	return EncoderDecoderOptions{TestCfg: SegTestConfig{Mode: "whole"}}
}

// EncoderDecoder is a semantic segmentor: backbone → (neck) → decode head,
// with auxiliary heads in training. Its state-dict keys are mmseg's:
// backbone.*, neck.*, decode_head.*, auxiliary_head.* (auxiliary_head.0.*
// ... for a list).
//
// Loss uses Batch.SegMaps (255 = ignored, also on padding) and returns the
// weighted sum of the heads' losses; parts are named as mmseg logs them:
// decode.loss_ce, decode.acc_seg, aux.loss_ce (aux_0.loss_ce ... for a
// list). Predict returns Result.SegMap at each sample's original size.
type EncoderDecoder struct {
	nn.ModuleBase
	Backbone   backbone.Backbone
	Neck       necks.Neck // nil without a neck
	DecodeHead seg.DecodeHead
	AuxHeads   []seg.DecodeHead
	auxList    bool // auxiliary_head was a list (names aux_<i>)
	test       SegTestConfig
}

// NewEncoderDecoder builds the segmentor a config describes.
func NewEncoderDecoder(o EncoderDecoderOptions) (*EncoderDecoder, error) {
	bb, err := backbone.Build(o.Backbone)
	if err != nil {
		return nil, err
	}
	m := &EncoderDecoder{Backbone: bb}
	m.RegisterModule("backbone", bb)
	chans := bb.OutChannels()
	if k := o.Neck.Kind(); k != config.Missing && k != config.Null {
		m.Neck, err = necks.Registry.BuildWithDefaults(o.Neck, map[string]any{"in_channels": chans})
		if err != nil {
			return nil, err
		}
		m.RegisterModule("neck", m.Neck)
		chans = m.Neck.OutChannels()
	}
	m.DecodeHead, err = buildSegHead(o.DecodeHead, chans)
	if err != nil {
		return nil, err
	}
	m.RegisterModule("decode_head", m.DecodeHead)
	switch o.AuxiliaryHead.Kind() {
	case config.Missing, config.Null:
	case config.List:
		m.auxList = true
		list := nn.NewModuleList()
		for i := 0; i < o.AuxiliaryHead.Len(); i++ {
			h, err := buildSegHead(o.AuxiliaryHead.Index(i), chans)
			if err != nil {
				return nil, err
			}
			m.AuxHeads = append(m.AuxHeads, h)
			list.Append(h)
		}
		m.RegisterModule("auxiliary_head", list)
	default:
		h, err := buildSegHead(o.AuxiliaryHead, chans)
		if err != nil {
			return nil, err
		}
		m.AuxHeads = []seg.DecodeHead{h}
		m.RegisterModule("auxiliary_head", h)
	}
	if err := m.SetTestConfig(o.TestCfg); err != nil {
		return nil, err
	}
	return m, nil
}

// buildSegHead builds a head, filling in_index (every map) and in_channels
// (the selected maps' widths) when the config leaves them out.
func buildSegHead(n config.Node, chans []int) (seg.DecodeHead, error) {
	defaults := map[string]any{}
	idx := seg.Ints{}
	if f := n.Field("in_index"); f.Exists() {
		if err := f.Decode(&idx); err != nil {
			return nil, err
		}
	} else {
		for i := range chans {
			idx.Values = append(idx.Values, i)
		}
		defaults["in_index"] = idx.Values
	}
	if !n.Field("in_channels").Exists() {
		var sel []int
		for _, k := range idx.Values {
			if k < 0 {
				k += len(chans)
			}
			if k < 0 || k >= len(chans) {
				return nil, fmt.Errorf("models: %s in_index %d outside the %d feature maps", n.Path(), k, len(chans))
			}
			sel = append(sel, chans[k])
		}
		if idx.Scalar {
			defaults["in_channels"] = sel[0]
		} else {
			defaults["in_channels"] = sel
		}
	}
	return seg.Registry.BuildWithDefaults(n, defaults)
}

// SetTestConfig changes how Predict infers (mode, windows, augmentation).
func (m *EncoderDecoder) SetTestConfig(c SegTestConfig) error {
	switch c.Mode {
	case "", "whole":
		c.Mode = "whole"
	case "slide":
		if c.CropSize[0] < 1 || c.CropSize[1] < 1 || c.Stride[0] < 1 || c.Stride[1] < 1 {
			return fmt.Errorf("models: EncoderDecoder test_cfg slide needs positive crop_size and stride, got %v and %v", c.CropSize, c.Stride)
		}
	default:
		return fmt.Errorf("models: EncoderDecoder test_cfg mode %q: want whole or slide", c.Mode)
	}
	for _, r := range c.ImgRatios {
		if !(r > 0) {
			return fmt.Errorf("models: EncoderDecoder test_cfg img_ratios %v: want positive ratios", c.ImgRatios)
		}
	}
	m.test = c
	return nil
}

// TestConfig returns the inference settings.
func (m *EncoderDecoder) TestConfig() SegTestConfig { return m.test }

// features runs the backbone and the neck.
func (m *EncoderDecoder) features(x *nn.Var) []*nn.Var {
	f := m.Backbone.Forward(x)
	if m.Neck != nil {
		f = m.Neck.Forward(f)
	}
	return f
}

// EncodeDecode returns the decode head's logits for x resized to x's
// height and width (mmseg's encode_decode).
func (m *EncoderDecoder) EncodeDecode(x *nn.Var) *nn.Var {
	logits := m.DecodeHead.Forward(m.features(x))
	s := x.Shape()
	return seg.Resize(logits, s[2], s[3], m.DecodeHead.AlignCorners())
}

// Loss implements Model.
func (m *EncoderDecoder) Loss(tp *nn.Tape, b *datasets.Batch) (*nn.Var, map[string]float64, error) {
	s := b.Inputs.Shape()
	n, h, w := s[0], s[2], s[3]
	if len(b.SegMaps) != n*h*w {
		return nil, nil, fmt.Errorf("models: EncoderDecoder: the batch has %d label pixels for %d images of %dx%d; the pipeline needs LoadAnnotations with seg maps", len(b.SegMaps), n, h, w)
	}
	nc := m.DecodeHead.NumClasses()
	for i, v := range b.SegMaps {
		if int(v) >= nc && v != 255 {
			sample := i / (h * w)
			file := ""
			if sample < len(b.Samples) {
				file = b.Samples[sample].Meta.SegFile
			}
			return nil, nil, fmt.Errorf("models: EncoderDecoder: label %d in image %d (%s) at pixel %d outside the %d classes and not 255 (ignored)", v, sample, file, i%(h*w), nc)
		}
	}
	feats := m.features(tp.Input(b.Inputs))
	parts := map[string]float64{}
	loss, p := m.DecodeHead.Loss(m.DecodeHead.Forward(feats), b.SegMaps, h, w)
	addParts(parts, "decode.", p)
	losses := []*nn.Var{loss}
	for i, aux := range m.AuxHeads {
		l, p := aux.Loss(aux.Forward(feats), b.SegMaps, h, w)
		prefix := "aux."
		if m.auxList {
			prefix = "aux_" + strconv.Itoa(i) + "."
		}
		addParts(parts, prefix, p)
		losses = append(losses, l)
	}
	total := losses[0]
	if len(losses) > 1 {
		total = nn.AddN(losses...)
	}
	return total, parts, nil
}

func addParts(dst map[string]float64, prefix string, src map[string]float64) {
	for k, v := range src {
		dst[prefix+k] = v
	}
}

// Predict implements Model: for each sample the class per pixel of its
// original image.
//
// Without augmentation the whole batch runs at once (whole or slide); each
// sample's logits are cropped to its ImgShape (dropping the batch padding),
// flipped back if the pipeline flipped it, resized bilinearly to OriShape
// and arg-maxed, as mmseg's postprocess_result. With img_ratios or flip,
// each sample runs alone at every scale and flip; the softmax
// probabilities, each resized to OriShape, are averaged before the
// arg-max, as mmseg 0.x's aug_test.
//
// NOTE: mmseg resizes the original image for each ratio; here the
// test-pipeline image is resized (bilinear, on the normalised tensor) to
// round(ratio·ImgShape), which gives the same sizes up to rounding but
// resamples twice.
func (m *EncoderDecoder) Predict(tp *nn.Tape, b *datasets.Batch) ([]Result, error) {
	s := b.Inputs.Shape()
	n := s[0]
	if len(b.Samples) != n {
		return nil, fmt.Errorf("models: EncoderDecoder: %d samples for %d images", len(b.Samples), n)
	}
	for i, smp := range b.Samples {
		ih, iw := imgShape(smp.Meta, s[2], s[3])
		if ih > s[2] || iw > s[3] {
			return nil, fmt.Errorf("models: EncoderDecoder: sample %d (%s) has img_shape %dx%d beyond the %dx%d batch", i, smp.Meta.File, ih, iw, s[2], s[3])
		}
	}
	res := make([]Result, n)
	if len(m.test.ImgRatios) == 0 && !m.test.Flip {
		logits := m.Inference(tp, b.Inputs)
		for i, smp := range b.Samples {
			ih, iw := imgShape(smp.Meta, s[2], s[3])
			l := cropSample(logits, i, ih, iw)
			l = unflip(l, smp.Meta)
			oh, ow := oriShape(smp.Meta, ih, iw)
			l = seg.Resize(tp.Input(l), oh, ow, m.DecodeHead.AlignCorners()).Value
			res[i].SegMap = argmaxPlane(l)
		}
		return res, nil
	}
	ratios := m.test.ImgRatios
	if len(ratios) == 0 {
		ratios = []float64{1}
	}
	flips := []bool{false}
	if m.test.Flip {
		flips = append(flips, true)
	}
	ac := m.DecodeHead.AlignCorners()
	for i, smp := range b.Samples {
		ih, iw := imgShape(smp.Meta, s[2], s[3])
		oh, ow := oriShape(smp.Meta, ih, iw)
		img := cropSample(b.Inputs, i, ih, iw)
		var sum *tensor.Tensor
		for _, r := range ratios {
			h, w := int(float64(ih)*r+0.5), int(float64(iw)*r+0.5)
			x := seg.Resize(tp.Input(img), max(h, 1), max(w, 1), false).Value
			for _, f := range flips {
				xin := x
				if f {
					xin = flipTensor(x, 3)
				}
				l := m.Inference(tp, xin)
				if f {
					l = flipTensor(l, 3)
				}
				l = unflip(l, smp.Meta)
				p := nn.Softmax(seg.Resize(tp.Input(l), oh, ow, ac), 1).Value
				if sum == nil {
					sum = p.Clone()
				} else {
					sd := sum.Data()
					for k, v := range p.Data() {
						sd[k] += v
					}
				}
			}
		}
		res[i].SegMap = argmaxPlane(sum)
	}
	return res, nil
}

// Inference returns the N×classes×H×W logits of the N×C×H×W input x by the
// configured mode, at x's size (mmseg's inference without the
// post-processing).
func (m *EncoderDecoder) Inference(tp *nn.Tape, x *tensor.Tensor) *tensor.Tensor {
	if m.test.Mode == "slide" {
		return m.slideInference(tp, x)
	}
	return m.EncodeDecode(tp.Input(x)).Value
}

// slideInference runs crop_size windows every stride pixels, the last
// window of each row and column aligned to the image's edge, and divides
// the summed logits by the number of windows covering each pixel, as
// mmseg's slide_inference.
func (m *EncoderDecoder) slideInference(tp *nn.Tape, x *tensor.Tensor) *tensor.Tensor {
	s := x.Shape()
	n, c, H, W := s[0], s[1], s[2], s[3]
	hc, wc := m.test.CropSize[0], m.test.CropSize[1]
	hs, ws := m.test.Stride[0], m.test.Stride[1]
	hg := max(H-hc+hs-1, 0)/hs + 1
	wg := max(W-wc+ws-1, 0)/ws + 1
	k := m.DecodeHead.NumClasses()
	preds := tensor.New(n, k, H, W)
	count := make([]float32, H*W)
	pd := preds.Data()
	for hi := 0; hi < hg; hi++ {
		for wi := 0; wi < wg; wi++ {
			y2, x2 := min(hi*hs+hc, H), min(wi*ws+wc, W)
			y1, x1 := max(y2-hc, 0), max(x2-wc, 0)
			ch, cw := y2-y1, x2-x1
			crop := tensor.New(n, c, ch, cw)
			cd, xd := crop.Data(), x.Data()
			for p := 0; p < n*c; p++ {
				for y := 0; y < ch; y++ {
					copy(cd[(p*ch+y)*cw:][:cw], xd[(p*H+y1+y)*W+x1:][:cw])
				}
			}
			l := m.EncodeDecode(tp.Input(crop)).Value.Data()
			for p := 0; p < n*k; p++ {
				for y := 0; y < ch; y++ {
					dst := pd[(p*H+y1+y)*W+x1:][:cw]
					for xx, v := range l[(p*ch+y)*cw:][:cw] {
						dst[xx] += v
					}
				}
			}
			for y := y1; y < y2; y++ {
				for xx := x1; xx < x2; xx++ {
					count[y*W+xx]++
				}
			}
		}
	}
	for p := 0; p < n*k; p++ {
		plane := pd[p*H*W:][:H*W]
		for i := range plane {
			plane[i] /= count[i]
		}
	}
	return preds
}

// imgShape is the sample's image size inside the padded batch; the batch
// size when the pipeline did not record it.
func imgShape(m datasets.Meta, h, w int) (int, int) {
	if m.ImgShape[0] > 0 && m.ImgShape[1] > 0 {
		return m.ImgShape[0], m.ImgShape[1]
	}
	return h, w
}

// oriShape is the sample's original size; the image size when unknown.
func oriShape(m datasets.Meta, h, w int) (int, int) {
	if m.OriShape[0] > 0 && m.OriShape[1] > 0 {
		return m.OriShape[0], m.OriShape[1]
	}
	return h, w
}

// cropSample returns sample i of x (N×C×H×W) cropped to its top-left h×w,
// as a new 1×C×h×w tensor.
func cropSample(x *tensor.Tensor, i, h, w int) *tensor.Tensor {
	s := x.Shape()
	c, H, W := s[1], s[2], s[3]
	out := tensor.New(1, c, h, w)
	od, xd := out.Data(), x.Data()[i*c*H*W:]
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			copy(od[(ch*h+y)*w:][:w], xd[(ch*H+y)*W:][:w])
		}
	}
	return out
}

// flipTensor returns x (N×C×H×W) reversed along axis 2 (vertical) or 3
// (horizontal).
func flipTensor(x *tensor.Tensor, axis int) *tensor.Tensor {
	s := x.Shape()
	H, W := s[2], s[3]
	out := tensor.New(s...)
	od, xd := out.Data(), x.Data()
	for p := 0; p < s[0]*s[1]; p++ {
		for y := 0; y < H; y++ {
			src := xd[(p*H+y)*W:][:W]
			if axis == 2 {
				copy(od[(p*H+H-1-y)*W:][:W], src)
				continue
			}
			dst := od[(p*H+y)*W:][:W]
			for xx, v := range src {
				dst[W-1-xx] = v
			}
		}
	}
	return out
}

// unflip undoes the test pipeline's flip of a sample (mmseg flips the
// logits back before resizing them to the original size).
func unflip(x *tensor.Tensor, m datasets.Meta) *tensor.Tensor {
	if !m.Flip {
		return x
	}
	if m.FlipDirection == "vertical" {
		return flipTensor(x, 2)
	}
	return flipTensor(x, 3)
}

// argmaxPlane returns the class of highest score per pixel of a 1×C×H×W
// score map; ties go to the lowest class, as torch.argmax. NaN scores never
// win.
func argmaxPlane(x *tensor.Tensor) *datasets.Plane {
	s := x.Shape()
	c, h, w := s[1], s[2], s[3]
	hw := h * w
	p := datasets.NewPlane(w, h)
	d := x.Data()
	best := make([]float32, hw)
	for i := range best {
		best[i] = float32(math.Inf(-1))
	}
	for k := 0; k < c; k++ {
		for i, v := range d[k*hw : (k+1)*hw] {
			if v > best[i] {
				best[i] = v
				p.Pix[i] = uint8(k)
			}
		}
	}
	return p
}

func init() {
	config.RegisterOptions(Registry, "EncoderDecoder", DefaultEncoderDecoderOptions(),
		func(o EncoderDecoderOptions) (Model, error) { return NewEncoderDecoder(o) })
}
