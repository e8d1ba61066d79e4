package models_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/densepred/dp/config"
	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// BenchmarkUperNetSNNMLPT512 times UperNet with SNN-MLP-T as
// configs/seg_upernet_snnmlp_t_ade20k.yaml builds it (random weights, 150
// classes): a training step (Loss, with the auxiliary head, and Backward; no
// optimizer) on two 512×512 crops, and whole-image inference of one
// 512×512 image. It reports the process's peak resident memory (VmHWM).
func BenchmarkUperNetSNNMLPT512(b *testing.B) {
	cfg, err := config.Load("../configs/seg_upernet_snnmlp_t_ade20k.yaml", "model.backbone.init.checkpoint=''")
	if err != nil {
		b.Fatal(err)
	}
	mm, err := models.Registry.Build(cfg.Field("model"))
	if err != nil {
		b.Fatal(err)
	}
	m := mm.(*models.EncoderDecoder)
	pool := tensor.NewPool()
	batch := func(n int) *datasets.Batch {
		x := tensor.New(n, 3, 512, 512)
		rng := tensor.NewRNG(1)
		rng.FillUniform(x, -2, 2)
		bt := &datasets.Batch{Inputs: x, SegMaps: make([]uint8, n*512*512)}
		for i := range bt.SegMaps {
			bt.SegMaps[i] = uint8(rng.Intn(150))
		}
		for i := 0; i < n; i++ {
			bt.Samples = append(bt.Samples, &datasets.Sample{Meta: datasets.Meta{ImgShape: [2]int{512, 512}, OriShape: [2]int{512, 512}}})
		}
		return bt
	}
	b.Run("train/batch=2", func(b *testing.B) {
		nn.SetTraining(m, true)
		bt := batch(2)
		for i := 0; i < b.N; i++ {
			tp := nn.NewTape(pool, tensor.NewRNG(uint64(i)))
			loss, _, err := m.Loss(tp, bt)
			if err != nil {
				b.Fatal(err)
			}
			tp.Backward(loss)
			tp.Release()
		}
		nn.ZeroGrad(m)
		b.ReportMetric(peakRSSMiB(), "peak-MiB")
	})
	b.Run("predict/batch=1", func(b *testing.B) {
		nn.SetTraining(m, false)
		bt := batch(1)
		for i := 0; i < b.N; i++ {
			tp := nn.NewInferenceTape(pool)
			if _, err := m.Predict(tp, bt); err != nil {
				b.Fatal(err)
			}
			tp.Release()
		}
		b.ReportMetric(peakRSSMiB(), "peak-MiB")
	})
}

// peakRSSMiB returns VmHWM from /proc/self/status in MiB, or 0.
func peakRSSMiB() float64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(s), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
