#!/usr/bin/env python3
"""The anchor side of `make bench-compare`: the tensor engine's four reference
workloads in PyTorch (Debian's python3-torch, CPU), timed the same way as
`vla bench-engine`.

Workloads (float32, batch 1):
  gemm1024      C = A @ B, 1024 x 1024 x 1024
  gemm256x2048  C = A @ B, 256 x 2048 x 2048
  block_fwd     one Qwen-style decoder block forward: seq 256, hidden 1024,
                16 heads (head dim 64), RMSNorm, RoPE (rotate_half), causal
                softmax attention, SwiGLU MLP 2816, residuals
  block_train   the same block forward + MSE loss + backward + one AdamW step

Prints one JSON object per line: {"workload", "engine", "ms" (median),
"ms_min", "gflops", "peak_rss_mib", "threads"}. Run one workload per process
so peak RSS belongs to that workload alone.
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch

SEQ, HID, HEADS, MLP = 256, 1024, 16, 2816
HD = HID // HEADS
EPS = 1e-6


def block_flops(train):
    s, d, f = SEQ, HID, MLP
    proj = 2 * s * d * d * 4 + 2 * s * d * f * 3
    attn = 2 * 2 * s * s * d  # QK^T and PV over all heads, full (unmasked) count
    fwd = proj + attn
    return 3 * fwd if train else fwd


def rope_tables():
    inv = 1.0 / (1e6 ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))
    pos = torch.arange(SEQ, dtype=torch.float32)
    fr = torch.outer(pos, inv)
    emb = torch.cat([fr, fr], dim=-1)
    return emb.cos(), emb.sin()


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rotate_half(x):
    a, b = x[..., : HD // 2], x[..., HD // 2:]
    return torch.cat([-b, a], dim=-1)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)

        def lin(o, i):
            return torch.nn.Parameter(torch.randn(o, i, generator=g) / math.sqrt(i))

        self.n1 = torch.nn.Parameter(torch.ones(HID))
        self.n2 = torch.nn.Parameter(torch.ones(HID))
        self.wq, self.wk, self.wv, self.wo = (lin(HID, HID) for _ in range(4))
        self.wg, self.wu = lin(MLP, HID), lin(MLP, HID)
        self.wd = lin(HID, MLP)
        cos, sin = rope_tables()
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.full((SEQ, SEQ), float("-inf")).triu(1))

    def forward(self, x):
        h = rms_norm(x, self.n1)
        q = (h @ self.wq.t()).view(SEQ, HEADS, HD).transpose(0, 1)
        k = (h @ self.wk.t()).view(SEQ, HEADS, HD).transpose(0, 1)
        v = (h @ self.wv.t()).view(SEQ, HEADS, HD).transpose(0, 1)
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        s = q @ k.transpose(-1, -2) / math.sqrt(HD) + self.mask
        a = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(SEQ, HID)
        x = x + a @ self.wo.t()
        h = rms_norm(x, self.n2)
        m = torch.nn.functional.silu(h @ self.wg.t()) * (h @ self.wu.t())
        return x + m @ self.wd.t()


def workload(name):
    g = torch.Generator().manual_seed(1)
    if name.startswith("gemm"):
        m, k, n = (1024, 1024, 1024) if name == "gemm1024" else (256, 2048, 2048)
        a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
        return (lambda: a @ b), 2.0 * m * n * k
    blk = Block()
    x = torch.randn(SEQ, HID, generator=g)
    if name == "block_fwd":
        def fwd():
            with torch.no_grad():
                blk(x)
        return fwd, block_flops(False)
    tgt = torch.randn(SEQ, HID, generator=g)
    opt = torch.optim.AdamW(blk.parameters(), lr=1e-4, weight_decay=0.01)

    def train():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(blk(x), tgt)
        loss.backward()
        opt.step()
    return train, block_flops(True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=["gemm1024", "gemm256x2048", "block_fwd", "block_train"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    fn, flops = workload(a.workload)
    for _ in range(a.warmup):
        fn()
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    med = statistics.median(times)
    print(json.dumps({
        "workload": a.workload, "engine": "torch-" + torch.__version__,
        "ms": round(med, 3), "ms_min": round(min(times), 3),
        "gflops": round(flops / med / 1e6, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": torch.get_num_threads(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }))


if __name__ == "__main__":
    main()
