#!/usr/bin/env bash
# demo.sh is the main job behind `make demo`: the best end-to-end thing vst-go
# does today, printed as it happens. It grows into collect → finetune →
# benchmark in the simulator as those parts land.
set -euo pipefail
cd "$(dirname "$0")/.."
vla=bin/vla
[ -x "$vla" ] || go build -o "$vla" ./cmd/vla

echo "== vst-go demo"
"$vla" version
echo
echo "== tensor engine: reference workloads (Go assembly GEMM, decoder block forward and AdamW train step)"
"$vla" bench-engine --reps "${DEMO_REPS:-10}"
echo
echo "demo: done. For the same workloads next to PyTorch run 'make bench-compare'."
