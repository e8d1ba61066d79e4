package detops

import "math"

// DeltaXYWHCoder encodes boxes as normalised centre and log-size deltas
// relative to reference boxes, as mmdet's DeltaXYWHBBoxCoder:
//
//	dx = ((gx - px)/pw - mean0)/std0    dw = (log(gw/pw) - mean2)/std2
//
// with px, pw the reference box's centre and width (no +1).
type DeltaXYWHCoder struct {
	Means [4]float64 `yaml:"target_means"` // default 0
	Stds  [4]float64 `yaml:"target_stds"`  // default 1 (RPN) or [0.1, 0.1, 0.2, 0.2] (R-CNN)
	// WHRatioClip bounds |dw|, |dh| when decoding; default 16/1000 gives
	// |log(16/1000)| ≈ 4.135, mmdet's wh_ratio_clip.
	WHRatioClip float64 `yaml:"wh_ratio_clip"`
}

// NewDeltaXYWHCoder returns a coder with the given stds and zero means.
func NewDeltaXYWHCoder(stds [4]float64) DeltaXYWHCoder {
	return DeltaXYWHCoder{Stds: stds, WHRatioClip: 16.0 / 1000}
}

// Encode returns the deltas taking reference p to target g.
func (c DeltaXYWHCoder) Encode(p, g Box) [4]float32 {
	px, py := (float64(p[0])+float64(p[2]))*0.5, (float64(p[1])+float64(p[3]))*0.5
	pw, ph := float64(p[2])-float64(p[0]), float64(p[3])-float64(p[1])
	gx, gy := (float64(g[0])+float64(g[2]))*0.5, (float64(g[1])+float64(g[3]))*0.5
	gw, gh := float64(g[2])-float64(g[0]), float64(g[3])-float64(g[1])
	d := [4]float64{(gx - px) / pw, (gy - py) / ph, math.Log(gw / pw), math.Log(gh / ph)}
	var out [4]float32
	for i := range d {
		out[i] = float32((d[i] - c.Means[i]) / c.Stds[i])
	}
	return out
}

// Decode applies deltas d to reference p. With maxW, maxH > 0 the result is
// clipped to [0, maxW]×[0, maxH] (mmdet's max_shape).
func (c DeltaXYWHCoder) Decode(p Box, d [4]float32, maxW, maxH float32) Box {
	var dd [4]float64
	for i := range d {
		dd[i] = float64(d[i])*c.Stds[i] + c.Means[i]
	}
	clip := c.WHRatioClip
	if clip == 0 {
		clip = 16.0 / 1000
	}
	maxRatio := math.Abs(math.Log(clip))
	dd[2] = math.Max(-maxRatio, math.Min(maxRatio, dd[2]))
	dd[3] = math.Max(-maxRatio, math.Min(maxRatio, dd[3]))
	px, py := (float64(p[0])+float64(p[2]))*0.5, (float64(p[1])+float64(p[3]))*0.5
	pw, ph := float64(p[2])-float64(p[0]), float64(p[3])-float64(p[1])
	gx, gy := px+pw*dd[0], py+ph*dd[1]
	gw, gh := pw*math.Exp(dd[2]), ph*math.Exp(dd[3])
	b := Box{float32(gx - gw*0.5), float32(gy - gh*0.5), float32(gx + gw*0.5), float32(gy + gh*0.5)}
	if maxW > 0 && maxH > 0 {
		b = b.Clip(maxW, maxH)
	}
	return b
}
