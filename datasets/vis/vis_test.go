package vis

import (
	"image/color"
	"testing"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/tensor"
)

func TestDrawSample(t *testing.T) {
	img := datasets.NewImage(60, 40)
	for i := range img.Pix {
		img.Pix[i] = 100
	}
	s := &datasets.Sample{
		Image:  img,
		Boxes:  [][4]float32{{10, 10, 30, 30}, {40, 5, 55, 20}},
		Labels: []int{1, 0},
		Ignore: []bool{false, true},
		Masks:  []datasets.Mask{{Polygons: [][]float64{{12, 12, 28, 12, 28, 28, 12, 28}}}, {Polygons: [][]float64{}}},
		Label:  -1,
	}
	m := DrawSample(s, []string{"circle", "square"})
	at := func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA) }
	if got := at(5, 35); got != (color.NRGBA{100, 100, 100, 255}) {
		t.Errorf("untouched pixel %v", got)
	}
	if got, want := at(10, 20), Color(1); got != want {
		t.Errorf("box edge %v, want class colour %v", got, want)
	}
	if got := at(40, 12); got != (color.NRGBA{160, 160, 160, 255}) {
		t.Errorf("ignored box edge %v, want grey", got)
	}
	c := Color(1)
	inside := at(20, 25)
	if want := uint8(100*0.5 + float64(c.R)*0.5); inside.R != want {
		t.Errorf("mask pixel %v, want half class colour (R %d)", inside, want)
	}
	// The normalised input is drawn back to its pixels.
	in := tensor.Full(0, 3, 2, 2)
	n := DrawSample(&datasets.Sample{Input: in, Label: -1}, nil)
	if got := color.NRGBAModel.Convert(n.At(1, 1)).(color.NRGBA); got != (color.NRGBA{124, 116, 104, 255}) {
		t.Errorf("denormalised pixel %v, want the mean", got)
	}
	if Color(0) == Color(1) || Color(1) == Color(2) {
		t.Error("neighbouring classes share a colour")
	}
}
