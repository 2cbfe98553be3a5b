#!/usr/bin/env bash
# bench_vlm.sh measures the Qwen2.5-VL backbone end to end: the tiny model
# (decode tokens/s, image-prompt prefill) and a 3B-shaped model with the real
# VST-3B / Qwen2.5-VL-3B config and random bf16 weights generated locally
# (load time, RSS, prefill of a 256x256 image prompt, decode tokens/s).
#
#   VLM_BENCH_DIR=out/vst-3b-random REPS=2 DECODE=16 scripts/bench_vlm.sh
#
# The 3B checkpoint (7.5 GB) is generated once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${VLM_BENCH_DIR:-out/vst-3b-random}
reps=${REPS:-2}
decode=${DECODE:-16}
go build -o bin/vla ./cmd/vla

echo "== tiny Qwen2.5-VL (random bf16)"
bin/vla model init --config tiny --out out/bench-tiny --seed 1 >/dev/null
bin/vla model bench --model out/bench-tiny --image-size 224 --decode 64 --reps 5

echo
echo "== 3B-shaped Qwen2.5-VL (VST-3B config, random bf16 weights)"
if [ ! -f "$dir/config.json" ]; then
	bin/vla model init --config 3b --dtype bf16 --out "$dir"
fi
bin/vla model bench --model "$dir" --image-size 256 --decode "$decode" --reps "$reps"
