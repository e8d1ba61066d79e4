# dp: two commands set everything up on a machine with only Go: `make demo` and `make test`.
GO       ?= go
BIN      := bin/dp
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/densepred/dp/tools.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0

.PHONY: all build test bench bench-torch lint demo demo-seg clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/dp

# Every test, once with the assembly kernels and once with the pure-Go fallbacks.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags noasm ./tensor/...

# Figures quoted in the README. Timings depend on what else runs on the machine.
bench:
	# One -cpu value per run: with a list, go test runs the first value's
	# sub-benchmarks at the last value's GOMAXPROCS.
	$(GO) test -run '^$$' -bench 'Sgemm$$|Conv3x3|Depthwise7x7|Pointwise' -benchtime 5x -cpu 1 ./tensor
	$(GO) test -run '^$$' -bench 'Sgemm$$|Conv3x3|Depthwise7x7|Pointwise' -benchtime 5x -cpu 2 ./tensor
	$(GO) test -run '^$$' -bench 'GELU|LIF' -benchtime 5x ./tensor
	$(GO) test -run '^$$' -bench 'SNNMLPT|TrainStepAllocs' -benchtime 3x ./models
	$(GO) test -run '^$$' -bench 'COCOEvalVal5k' -benchtime 3x ./eval/coco
	$(GO) test -run '^$$' -bench 'LoaderCOCODet' -benchtime 20x ./datasets/coco
	@$(MAKE) --no-print-directory bench-torch

# The same figures from PyTorch 1.13 and numpy on this machine, when Debian's
# python3-torch is installed (apt-get install python3-torch python3-torchvision).
bench-torch:
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then \
		/usr/bin/python3 tools/reference/bench_torch.py && \
		/usr/bin/python3 tools/reference/bench_snnmlp.py; \
	else echo "bench-torch: python3-torch is not installed; PyTorch reference figures skipped"; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# make demo: synthetic COCO-layout shapes -> Mask R-CNN with a small SNN-MLP
# backbone -> COCO evaluation (work_dirs/det_maskrcnn_demo/eval.json),
# pictures of predictions (vis/) and the training curve (curve.png).
DET_DEMO := work_dirs/det_maskrcnn_demo
demo: build
	rm -rf $(DET_DEMO)
	test -f data/synth_coco/annotations/instances_val.json || \
		$(BIN) data synth --task det --out data/synth_coco --size 256 --num 400 --seed 0
	$(BIN) train configs/det_maskrcnn_demo.yaml
	$(BIN) test configs/det_maskrcnn_demo.yaml $(DET_DEMO)/$$(cat $(DET_DEMO)/last_checkpoint) --eval bbox segm
	$(BIN) infer configs/det_maskrcnn_demo.yaml $(DET_DEMO)/$$(cat $(DET_DEMO)/last_checkpoint) \
		$$(ls data/synth_coco/val/*.png | head -8) --out-dir $(DET_DEMO)/vis
	$(BIN) plot $(DET_DEMO)/log.jsonl --keys loss,bbox_mAP,segm_mAP --out $(DET_DEMO)/curve.png
	@echo "demo: scores in $(DET_DEMO)/eval.json, pictures in $(DET_DEMO)/vis, curve in $(DET_DEMO)/curve.png"

# make demo-seg: synthetic ADE20K-layout shapes -> UperNet with a small
# SNN-MLP -> mIoU (work_dirs/seg_demo_snnmlp/eval.json), overlays, curve.
SEG_DEMO := work_dirs/seg_demo_snnmlp
demo-seg: build
	rm -rf $(SEG_DEMO)
	test -d data/synth_ade/ADEChallengeData2016 || \
		$(BIN) data synth --task seg --out data/synth_ade --size 128 --num 400 --seed 0
	$(BIN) train configs/seg_demo_snnmlp.yaml
	$(BIN) test configs/seg_demo_snnmlp.yaml $(SEG_DEMO)/$$(cat $(SEG_DEMO)/last_checkpoint) --eval mIoU \
		--show-dir $(SEG_DEMO)/vis
	$(BIN) plot $(SEG_DEMO)/log.jsonl --keys loss,mIoU --out $(SEG_DEMO)/curve.png
	@echo "demo-seg: scores in $(SEG_DEMO)/eval.json, overlays in $(SEG_DEMO)/vis, curve in $(SEG_DEMO)/curve.png"

clean:
	rm -rf bin
