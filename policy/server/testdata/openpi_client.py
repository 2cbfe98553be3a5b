"""Drive a vst-go policy server the way openpi's Python clients do.

Usage: python3 openpi_client.py ws://HOST:PORT TOKEN

It speaks openpi's msgpack-numpy (ndarrays as maps with *bytes* keys,
decoded by an object hook that looks for b"__ndarray__") over the
websockets library, checks every answer, and prints "interop ok" at the
end. Any failed check raises, so the exit status is non-zero. Written for
vst-go's interop test from the protocol description; it needs numpy,
msgpack and websockets (Debian: python3-numpy python3-msgpack
python3-websockets).
"""

import asyncio
import base64
import json
import sys
import urllib.request

import msgpack
import numpy as np
import websockets


def pack_hook(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in ("O", "V", "c"):
            raise ValueError(f"unsupported dtype {obj.dtype}")
        return {b"__ndarray__": True, b"data": obj.tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    return obj


def unpack_hook(obj):
    if b"__ndarray__" in obj:
        return np.ndarray(buffer=obj[b"data"], dtype=np.dtype(obj[b"dtype"]), shape=obj[b"shape"])
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


def packb(obj):
    return msgpack.packb(obj, default=pack_hook, use_bin_type=True)


def unpackb(data):
    return msgpack.unpackb(data, object_hook=unpack_hook, raw=False)


def close_code(exc):
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None:
        return rcvd.code
    return getattr(exc, "code", None)


async def connect(url, token):
    headers = {"Authorization": f"Api-Key {token}"}
    try:
        return await websockets.connect(url, additional_headers=headers, max_size=None, compression=None)
    except TypeError:  # websockets < 14
        return await websockets.connect(url, extra_headers=headers, max_size=None, compression=None)


def libero_obs(rng, prompt):
    return {
        "observation/image": rng.integers(0, 256, (224, 224, 3), dtype=np.uint8),
        "observation/wrist_image": rng.integers(0, 256, (224, 224, 3), dtype=np.uint8),
        "observation/state": rng.random(8),
        "prompt": prompt,
    }


async def main(url, token):
    rng = np.random.default_rng(0)
    ws = await connect(url, token)
    metadata = unpackb(await ws.recv())
    assert isinstance(metadata, dict), metadata
    assert metadata.get("action_dim") == 7 and metadata.get("action_horizon") == 10, metadata

    for step in range(3):
        await ws.send(packb(libero_obs(rng, "put both the alphabet soup and the tomato sauce in the basket")))
        resp = await ws.recv()
        assert isinstance(resp, bytes), resp
        out = unpackb(resp)
        actions = out["actions"]
        assert isinstance(actions, np.ndarray) and actions.dtype == np.float64 and actions.shape == (10, 7), actions
        assert np.allclose(actions, np.tile([0.1, 0, 0, 0, 0, 0, -1], (10, 1)), atol=1e-6), actions
        assert len(actions.tolist()) >= 5
        assert "infer_ms" in out["policy_timing"], out
        assert "infer_ms" in out["server_timing"], out
        assert ("prev_total_ms" in out["server_timing"]) == (step > 0), out

    # ALOHA-style nested images (uint8 CHW), a float [0, 1] image, a numpy scalar.
    await ws.send(packb({
        "images": {"cam_high": rng.integers(0, 256, (3, 224, 224), dtype=np.uint8)},
        "observation/image": rng.random((224, 224, 3)).astype(np.float32),
        "state": rng.random(14).astype(np.float32),
        "step": np.int32(4),
        "prompt": "fold the towel",
    }))
    assert unpackb(await ws.recv())["actions"].shape == (10, 7)

    await ws.send(packb({"__ctrl__": "episode_start", "__experiment__": "interop", "__task__": "libero_10", "__episode_id__": 1}))
    assert unpackb(await ws.recv()) == {"__ctrl__": "episode_start", "ok": True}
    await ws.send(packb({"__ctrl__": "episode_end", "__success__": True}))
    assert unpackb(await ws.recv()) == {"__ctrl__": "episode_end", "ok": True}

    # A malformed frame: a text frame with the error, then close 1011.
    await ws.send(b"\xc1")
    err = await ws.recv()
    assert isinstance(err, str) and err.startswith("bad request: msgpack"), err
    try:
        await ws.recv()
        raise AssertionError("the server kept the connection open")
    except websockets.exceptions.ConnectionClosed as exc:
        assert close_code(exc) == 1011, exc

    base = "http" + url[len("ws"):]
    with urllib.request.urlopen(base + "/healthz") as r:
        assert r.status == 200 and r.read() == b"OK\n"

    # OpenVLA REST: json-numpy body, answer one 7-vector.
    img = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    body = {
        "image": {"__numpy__": base64.b64encode(img.tobytes()).decode(), "dtype": img.dtype.str, "shape": list(img.shape)},
        "instruction": "pick up the black bowl",
    }
    req = urllib.request.Request(base + "/act", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        vec = json.loads(r.read())
    action = np.frombuffer(base64.b64decode(vec["__numpy__"]), dtype=np.dtype(vec["dtype"])).reshape(vec["shape"])
    assert action.shape == (7,) and np.allclose(action, [0.1, 0, 0, 0, 0, 0, -1], atol=1e-6), action

    # A second connection still works after the first one's error.
    ws2 = await connect(url, token)
    unpackb(await ws2.recv())
    await ws2.send(packb(libero_obs(rng, "again")))
    assert unpackb(await ws2.recv())["actions"].shape == (10, 7)
    await ws2.close()
    print("interop ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
