#!/usr/bin/env bash
# demo.sh is the main job behind `make demo`: the best end-to-end thing vst-go
# does today, printed as it happens. It grows into collect → finetune →
# benchmark in the simulator as the simulator and the action head land.
set -euo pipefail
cd "$(dirname "$0")/.."
vla=bin/vla
[ -x "$vla" ] || go build -o "$vla" ./cmd/vla
out=${DEMO_OUT:-out/demo}
mkdir -p "$out"
golden=vlm/qwen25vl/testdata/tiny

step() { printf '\n== %s\n' "$*"; }

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

episodes=${DEMO_EPISODES:-30}
steps=${DEMO_STEPS:-3000}
replan=${DEMO_REPLAN:-4}
step "4. collect expert demonstrations in the MuJoCo simulator (libero_spatial, $episodes episodes per task)"
rm -rf "$out/demos" "$out/vla" "$out/vla-checkpoints" "$out/small-random"
"$vla" sim collect --suite libero_spatial --episodes "$episodes" --out "$out/demos" --images-in-parquet

step "5. train a small VLA (random 1.3M-parameter backbone, every weight trained, chunk head) on them for $steps steps on the CPU"
"$vla" model init --config small --dtype f32 --out "$out/small-random" --seed 1
"$vla" finetune --base "$out/small-random" --data "$out/demos" --out "$out/vla" --full --lr 1e-3 \
	--steps "$steps" --batch 8 --checkpoint-every 500

step "6. benchmark the fine-tuned VLA and the scripted expert in the simulator"
"$vla" bench --suite libero_spatial --episodes "${DEMO_BENCH_EPISODES:-5}" --policy "model=$out/vla" --replan-steps "$replan" \
	--json "$out/bench_vla.json" --plot "$out/bench_vla.png"
"$vla" bench --suite libero_spatial --episodes "${DEMO_BENCH_EPISODES:-5}" --policy expert \
	--json "$out/bench_expert.json" --plot "$out/bench_expert.png"
echo "the small VLA is trained from a random backbone for ~15 minutes on a CPU: expect roughly 15-45% (one run: 46% with --replan-steps 4; target 80%, see README, Status)"

printf '\ndemo: done. Outputs in %s. Next to PyTorch: make bench-compare.\n' "$out"
