#!/usr/bin/env python3
"""Generates resize_pil.json and modes_pil.json, the Pillow fixtures of
processor_test.go.

Run with Debian 12's python3-pil (Pillow 9.4.0):
    /usr/bin/python3 gen_resize.py

resize_pil.json: deterministic RGB images resized with
Image.resize(size, Image.BICUBIC), the call HF's Qwen2VLImageProcessor
makes. modes_pil.json: tiny PNGs in PIL modes L, LA, P, RGBA and RGB and
what Image.convert("RGB") makes of each (HF's convert_rgb).
"""
import base64
import io
import json

import PIL
from PIL import Image


def lcg_bytes(n, seed):
    """n pseudo-random bytes from a 32-bit LCG (deterministic, no numpy)."""
    out = bytearray(n)
    s = seed
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = s >> 24
    return bytes(out)


def gradient_bytes(h, w):
    """A smooth image with a hard edge, to exercise over- and undershoot."""
    out = bytearray()
    for y in range(h):
        for x in range(w):
            edge = 255 if x * 3 > w * 2 else 0
            out += bytes([(x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), edge])
    return bytes(out)


def b64(b):
    return base64.b64encode(b).decode()


def resize_cases():
    sources = [
        ("noise", 23, 31, lcg_bytes(23 * 31 * 3, 1)),
        ("gradient", 70, 126, gradient_bytes(70, 126)),
    ]
    targets = {
        "noise": [(56, 84), (14, 14), (23, 62), (46, 31), (11, 7), (30, 20), (5, 97), (23, 31), (1, 1)],
        "gradient": [(56, 112), (28, 252), (140, 56)],
    }
    cases = []
    for name, h, w, data in sources:
        img = Image.frombytes("RGB", (w, h), data)
        for oh, ow in targets[name]:
            out = img.resize((ow, oh), Image.BICUBIC)
            cases.append({"name": f"{name}_{h}x{w}_to_{oh}x{ow}", "height": h, "width": w,
                          "out_height": oh, "out_width": ow,
                          "src": b64(data), "want": b64(out.tobytes())})
    return cases


def mode_cases():
    h, w = 5, 7
    rgba = Image.frombytes("RGBA", (w, h), lcg_bytes(h * w * 4, 7))
    images = {
        "RGB": rgba.convert("RGB"),
        "RGBA": rgba,
        "L": rgba.convert("L"),
        "LA": rgba.convert("LA"),
        "P": rgba.convert("RGB").convert("P", palette=Image.ADAPTIVE, colors=16),
    }
    cases = []
    for mode, img in images.items():
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        back = Image.open(io.BytesIO(buf.getvalue()))
        cases.append({"mode": mode, "opened_mode": back.mode, "height": h, "width": w,
                      "png": b64(buf.getvalue()), "rgb": b64(back.convert("RGB").tobytes())})
    return cases


def main():
    meta = {"generator": "gen_resize.py", "pillow": PIL.__version__}
    with open("resize_pil.json", "w") as f:
        json.dump({**meta, "cases": resize_cases()}, f, indent=1)
        f.write("\n")
    with open("modes_pil.json", "w") as f:
        json.dump({**meta, "cases": mode_cases()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
