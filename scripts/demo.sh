#!/usr/bin/env bash
# demo.sh is the main job behind `make demo`: the best end-to-end thing vst-go
# does today, printed as it happens.
#
#   scripts/demo.sh         everything: HF parity, engine speed, then collect
#                           expert demos → fine-tune a small VLA → benchmark it
#   scripts/demo.sh train   only collect → fine-tune, writing the model to
#                           $DEMO_MODEL (default models/vla-libero-spatial-small,
#                           the checkpoint shipped in the repository)
#   scripts/demo.sh bench   only benchmark $DEMO_MODEL and the scripted expert
#                           on libero_spatial (minutes)
#
# The recipe (environment, defaults in brackets): DEMO_EPISODES expert demos
# per task [50], DEMO_STEPS optimizer steps [12000] of DEMO_BATCH samples [8]
# at DEMO_LR [1e-3] on DEMO_IMAGE_SIZE pixel cameras [168] (colour jitter, no
# random crop), DEMO_BENCH_EPISODES benchmark episodes per task [10],
# DEMO_REPLAN actions executed per chunk [4]. Training is deterministic for a
# given core count (GOMAXPROCS): `scripts/demo.sh train` on a 2-core machine
# reproduces the shipped checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
case $mode in all | train | bench) ;; *)
	echo "usage: $0 [all|train|bench]" >&2
	exit 2
	;;
esac
vla=bin/vla
[ -x "$vla" ] || go build -o "$vla" ./cmd/vla
out=${DEMO_OUT:-out/demo}
mkdir -p "$out"
golden=vlm/qwen25vl/testdata/tiny
episodes=${DEMO_EPISODES:-50}
steps=${DEMO_STEPS:-12000}
size=${DEMO_IMAGE_SIZE:-168}
batch=${DEMO_BATCH:-8}
lr=${DEMO_LR:-1e-3}
replan=${DEMO_REPLAN:-4}
bench_episodes=${DEMO_BENCH_EPISODES:-10}
shipped=models/vla-libero-spatial-small

step() { printf '\n== %s\n' "$*"; }

intro() {
	step "vst-go"
	"$vla" version

	step "1. Hugging Face parity: a tiny Qwen2.5-VL checkpoint and the logits HF transformers computed for it"
	echo "text prompt:"
	"$vla" model forward --model "$golden" --out "$out/logits_text.safetensors" \
		--ids 301,17,42,7,302,198,301,99,5,123,250,3,302,11 \
		--expect "$golden/case_a_text.safetensors"
	echo "image prompt (PNG -> processor -> windowed ViT -> M-RoPE decoder):"
	"$vla" model forward --model "$golden" --out "$out/logits_image.safetensors" \
		--image "$golden/image56.png" \
		--ids 301,10,11,12,302,13,301,14,13,309,312,312,312,312,310,20,21,22,302,13,301,15,13 \
		--expect "$golden/case_b_image56.safetensors"

	step "2. a random checkpoint in the exact HF layout, then its speed (image prompt prefill, KV-cache decode)"
	"$vla" model init --config tiny --out "$out/tiny-random" --seed 1
	"$vla" model bench --model "$out/tiny-random" --image-size 224 --decode 64

	step "3. the tensor engine's reference workloads (Go assembly GEMM, decoder block forward and AdamW step)"
	"$vla" bench-engine --reps "${DEMO_REPS:-10}"
}

# train collects demonstrations and fine-tunes a small VLA into $1.
train() {
	local model=$1
	step "collect expert demonstrations in the MuJoCo simulator (libero_spatial, $episodes episodes per task)"
	rm -rf "$out/demos" "$out/small-random" "$out/vla-checkpoints"
	"$vla" sim collect --suite libero_spatial --episodes "$episodes" --out "$out/demos" --images-in-parquet

	step "train a small VLA (random 1.3M-parameter Qwen2.5-VL-shaped backbone, every weight trained, chunk head) for $steps steps on the CPU"
	"$vla" model init --config small --dtype f32 --out "$out/small-random" --seed 1
	rm -rf "$model"
	"$vla" finetune --base "$out/small-random" --data "$out/demos" --out "$model" --checkpoint-dir "$out/vla-checkpoints" \
		--full --lr "$lr" --steps "$steps" --batch "$batch" --image-size "$size" --crop-min-scale 1 --checkpoint-every 1000
}

# bench runs the model in $1 and the scripted expert on libero_spatial.
bench() {
	local model=$1
	step "benchmark the VLA in $model on libero_spatial ($bench_episodes episodes per task, $replan actions per chunk)"
	"$vla" bench --suite libero_spatial --episodes "$bench_episodes" --policy "model=$model" --replan-steps "$replan" \
		--json "$out/bench_vla.json" --plot "$out/bench_vla.png" --video-dir "$out/videos"
	step "the scripted expert on the same episodes"
	"$vla" bench --suite libero_spatial --episodes "$bench_episodes" --policy expert \
		--json "$out/bench_expert.json" --plot "$out/bench_expert.png"
}

case $mode in
all)
	intro
	train "$out/vla"
	bench "$out/vla"
	;;
train)
	train "${DEMO_MODEL:-$shipped}"
	;;
bench)
	bench "${DEMO_MODEL:-$shipped}"
	;;
esac
printf '\ndemo: done. Outputs in %s. Next to PyTorch: make bench-compare.\n' "$out"
