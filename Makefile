# vst-go Makefile. `make` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/vla
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10s
BENCHTIME ?= 1s
BENCHCOUNT ?= 5

.DEFAULT_GOAL := help
.PHONY: help setup build test demo demo-train demo-bench bench bench-compare bench-vlm fuzz lint

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## install system packages and Go modules (idempotent)
	@scripts/setup.sh

build: ## build bin/vla
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vla

test: setup ## setup, go vet, then every test with the race detector (plus the ros2-tagged DDS tests and the OpenCV Mat leak check)
	$(GO) vet ./...
	$(GO) vet -tags ros2 ./robot/ros2/
	$(GO) test -race -count=1 ./...
	$(GO) test -tags ros2 -race -count=1 ./robot/ros2/
	$(GO) test -tags matprofile -race -count=1 ./robot/camera/

demo: setup build ## setup, build, then the main job: parity, speed, collect demos -> fine-tune a small VLA -> benchmark (~30 min)
	scripts/demo.sh

demo-train: setup build ## collect demos and fine-tune the small VLA shipped in models/ (reproduces it on 2 cores)
	scripts/demo.sh train

demo-bench: setup build ## benchmark the shipped small VLA and the expert on libero_spatial (minutes)
	scripts/demo.sh bench

bench: ## run the Go benchmarks (benchstat format; BENCHCOUNT, BENCHTIME)
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) -benchtime $(BENCHTIME) ./...

bench-compare: ## the tensor workloads here and in Debian's python3-torch, side by side, with ratios
	@scripts/setup.sh --torch
	scripts/bench_compare.sh

bench-vlm: ## Qwen2.5-VL speed: tiny model, and a 3B-shaped random bf16 model (load, RSS, prefill, decode)
	scripts/bench_vlm.sh

fuzz: ## run every fuzz target for FUZZTIME each
	scripts/fuzz.sh $(FUZZTIME)

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
