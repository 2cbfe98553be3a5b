#!/usr/bin/env python3
"""Generates fixtures.json: reference optimizer trajectories from PyTorch.

Run once from this directory (needs torch; Debian: apt-get install
python3-torch):

    python3 gen_fixtures.py > fixtures.json

The Go tests read fixtures.json and do not need torch. Each case lists the
initial parameters, the gradient given to every parameter at every step
(null: the parameter has no gradient that step), and the parameters after
each step, with the learning rate used and, when clipping, the gradient norm
before clipping. The schedules are Hugging Face's (transformers'
get_cosine_with_min_lr_schedule_with_warmup and
get_linear_schedule_with_warmup), written out here so that transformers is
not needed; they drive torch.optim.lr_scheduler.LambdaLR, stepped after each
optimizer step.
"""
import json
import math
import sys

import torch

torch.set_num_threads(1)


def cosine(warmup, total, min_ratio, cycles=0.5):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        factor = 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress))
        factor = factor * (1 - min_ratio) + min_ratio
        return max(0, factor)
    return f


def linear(warmup, total):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def lam(sched):
    if sched is None:
        return lambda step: 1.0
    if sched["kind"] == "cosine":
        return cosine(sched["warmup"], sched["total"], sched["min_ratio"])
    return linear(sched["warmup"], sched["total"])


def flat(t):
    return t.detach().reshape(-1).tolist()


def run_case(case, gen):
    names = [p["name"] for p in case["params"]]
    tensors = {}
    for p in case["params"]:
        t = torch.randn(p["shape"], generator=gen, dtype=torch.float32)
        p["init"] = flat(t)
        tensors[p["name"]] = t.clone().requires_grad_(True)
    base_lr = case["config"]["lr"]
    if case["schedule"] is not None:
        base_lr = case["schedule"]["peak"]
    groups = []
    for g in case["groups"]:
        d = {"params": [tensors[n] for n in g["params"]], "lr": base_lr * g["lr_scale"]}
        if g["weight_decay"] is not None:
            d["weight_decay"] = g["weight_decay"]
        groups.append(d)
    cfg = case["config"]
    if case["optimizer"] == "adamw":
        opt = torch.optim.AdamW(groups, lr=base_lr, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"],
                                weight_decay=cfg["weight_decay"], foreach=False)
    else:
        opt = torch.optim.SGD(groups, lr=base_lr, momentum=cfg["momentum"], dampening=cfg["dampening"],
                              weight_decay=cfg["weight_decay"], nesterov=cfg["nesterov"], foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam(case["schedule"]))
    skip = {(s, n) for s, n in case.pop("skip", [])}
    steps = []
    for step in range(case["n_steps"]):
        rec = {"grads": {}, "lr": opt.param_groups[0]["lr"] / case["groups"][0]["lr_scale"]}
        for n in names:
            if (step, n) in skip:
                tensors[n].grad = None
                rec["grads"][n] = None
                continue
            g = torch.randn(tensors[n].shape, generator=gen, dtype=torch.float32) * case["grad_scale"]
            rec["grads"][n] = flat(g)
            tensors[n].grad = g
        if case["clip"]:
            total = torch.nn.utils.clip_grad_norm_([tensors[n] for n in names], case["clip"])
            rec["total_norm"] = float(total)
        opt.step()
        sched.step()
        rec["after"] = {n: flat(tensors[n]) for n in names}
        steps.append(rec)
    case["steps"] = steps
    del case["n_steps"], case["grad_scale"]
    return case


ADAMW_DEFAULT = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
PARAMS = [{"name": "layer.w", "shape": [2, 3]}, {"name": "layer.b", "shape": [3]}, {"name": "norm.g", "shape": [1]}]
ALL = [p["name"] for p in PARAMS]


def cases():
    return [
        {"name": "adamw_default", "optimizer": "adamw", "config": dict(ADAMW_DEFAULT), "schedule": None,
         "clip": 0, "groups": [{"params": ALL, "lr_scale": 1.0, "weight_decay": None}],
         "params": [dict(p) for p in PARAMS], "n_steps": 5, "grad_scale": 1.0},
        {"name": "adamw_cosine_clip", "optimizer": "adamw",
         "config": {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.1},
         "schedule": {"kind": "cosine", "peak": 0.05, "warmup": 2, "total": 5, "min_ratio": 0.1},
         "clip": 1.0, "groups": [{"params": ALL, "lr_scale": 1.0, "weight_decay": None}],
         "params": [dict(p) for p in PARAMS], "n_steps": 5, "grad_scale": 3.0},
        {"name": "adamw_groups_skip", "optimizer": "adamw",
         "config": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
         "schedule": {"kind": "linear", "peak": 0.01, "warmup": 1, "total": 5},
         "clip": 0, "groups": [{"params": ["layer.w"], "lr_scale": 1.0, "weight_decay": 0.05},
                               {"params": ["layer.b", "norm.g"], "lr_scale": 0.1, "weight_decay": 0.0}],
         "params": [dict(p) for p in PARAMS], "n_steps": 5, "grad_scale": 0.5,
         "skip": [[1, "norm.g"], [3, "norm.g"], [0, "layer.b"]]},
        {"name": "sgd_plain", "optimizer": "sgd",
         "config": {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
         "schedule": None, "clip": 0, "groups": [{"params": ALL, "lr_scale": 1.0, "weight_decay": None}],
         "params": [dict(p) for p in PARAMS], "n_steps": 5, "grad_scale": 1.0},
        {"name": "sgd_momentum_skip", "optimizer": "sgd",
         "config": {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01, "nesterov": False},
         "schedule": None, "clip": 0,
         "groups": [{"params": ["layer.w", "layer.b"], "lr_scale": 1.0, "weight_decay": None},
                    {"params": ["norm.g"], "lr_scale": 2.0, "weight_decay": 0.0}],
         "params": [dict(p) for p in PARAMS], "n_steps": 5, "grad_scale": 1.0,
         "skip": [[2, "layer.b"], [0, "norm.g"]]},
        {"name": "sgd_nesterov_cosine_clip", "optimizer": "sgd",
         "config": {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.05, "nesterov": True},
         "schedule": {"kind": "cosine", "peak": 0.1, "warmup": 1, "total": 5, "min_ratio": 0.0},
         "clip": 0.5, "groups": [{"params": ALL, "lr_scale": 1.0, "weight_decay": None}],
         "params": [dict(p) for p in PARAMS], "n_steps": 5, "grad_scale": 1.0},
    ]


def schedule_table():
    out = []
    for s in [{"kind": "cosine", "peak": 3e-4, "warmup": 10, "total": 100, "min_ratio": 0.0},
              {"kind": "cosine", "peak": 1e-3, "warmup": 5, "total": 50, "min_ratio": 0.1},
              {"kind": "cosine", "peak": 1.0, "warmup": 0, "total": 10, "min_ratio": 0.05},
              {"kind": "linear", "peak": 2e-4, "warmup": 10, "total": 100},
              {"kind": "linear", "peak": 1.0, "warmup": 0, "total": 8}]:
        f = lam(s)
        steps = [0, 1, 3, 5, 9, 10, 11, 25, 49, 50, 51, 75, 99, 100, 120]
        out.append({"schedule": s, "steps": steps, "lr": [s["peak"] * f(k) for k in steps]})
    return out


def main():
    gen = torch.Generator().manual_seed(1234)
    out = {"torch_version": torch.__version__, "cases": [run_case(c, gen) for c in cases()],
           "schedules": schedule_table()}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
