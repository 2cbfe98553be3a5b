#!/usr/bin/env bash
# bench_compare.sh times the tensor engine's four reference workloads in vst-go
# (bin/vla bench-engine) and in Debian's python3-torch (scripts/bench_torch.py),
# interleaved in the same run, one process per workload and engine (so peak RSS
# is per workload), and prints a table with the time ratios.
#
#   ROUNDS=3 REPS=20 THREADS=2 scripts/bench_compare.sh [workload ...]
#
# Set OPENBLAS_CORETYPE (e.g. SkylakeX) to change torch's OpenBLAS kernels; the
# machine default is what the table reports as "torch".
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
reps=${REPS:-20}
threads=${THREADS:-$(nproc)}
py=/usr/bin/python3 # Debian's python, where python3-torch lives
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(gemm1024 gemm256x2048 block_fwd block_train)

go build -o bin/vla ./cmd/vla
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
	for w in "${workloads[@]}"; do
		echo "round $r/$rounds: $w" >&2
		GOMAXPROCS=$threads bin/vla bench-engine --workload "$w" --reps "$reps" --json >>"$out"
		$py scripts/bench_torch.py --workload "$w" --reps "$reps" --threads "$threads" >>"$out"
	done
done
$py - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    eng = "go" if r["engine"].startswith("vst-go") else "torch"
    by.setdefault(r["workload"], {}).setdefault(eng, []).append(r)
def med(rs, k): return statistics.median(x[k] for x in rs)
print(f"{'workload':<14} {'vst-go ms':>10} {'torch ms':>10} {'go/torch':>9} {'go GFLOP/s':>11} {'torch GFLOP/s':>14} {'go MiB':>7} {'torch MiB':>10}")
for w, e in by.items():
    g, t = e.get("go"), e.get("torch")
    if not g or not t:
        continue
    gm, tm = med(g, "ms"), med(t, "ms")
    print(f"{w:<14} {gm:>10.2f} {tm:>10.2f} {gm/tm:>9.2f} {med(g,'gflops'):>11.1f} {med(t,'gflops'):>14.1f} {med(g,'peak_rss_mib'):>7.0f} {med(t,'peak_rss_mib'):>10.0f}")
print(f"(median of {len(next(iter(by.values()))['go'])} rounds; each round is the median of its reps; threads={rows[0]['threads']})")
PY
