package engine

import (
	"fmt"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/models"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// Infer runs model in inference mode over loader and calls fn with every
// batch and its results, in order. It is Runner.Predict for programs that
// have a model but no work dir or logger, such as dp infer.
func Infer(model models.Model, loader *datasets.Loader, fn func(b *datasets.Batch, res []models.Result) error) error {
	pool := tensor.NewPool()
	nn.SetTraining(model, false)
	for b, err := range loader.Batches(0) {
		if err != nil {
			return err
		}
		tp := nn.NewInferenceTape(pool)
		res, err := model.Predict(tp, b)
		tp.Release()
		if err != nil {
			return fmt.Errorf("engine: predict: %w", err)
		}
		if err := fn(b, res); err != nil {
			return err
		}
	}
	return nil
}
