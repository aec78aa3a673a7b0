"""End to end through the official OpenAI Python SDK (API.md: "an unmodified
official OpenAI SDK ... must work"): images of the asked size that decode,
the `parameters` chunk, pictor's extension fields, seed reproducibility,
/v1/models, and the request id."""
import base64

import pytest

import pngcheck
from pictord import QUALITY_ID, REALTIME_ID

SIZE = "64x64"  # the smallest size: each generation is a fraction of a second on a CPU


def extra(obj, name):
    """A field the SDK's model does not declare (pydantic's model_extra)."""
    assert obj.model_extra is not None and name in obj.model_extra, \
        f"{name} not in {sorted((obj.model_extra or {}).keys())}"
    return obj.model_extra[name]


def gen(client, **kw):
    """client.images.generate with pictor's fields passed through extra_body."""
    ext = {k: kw.pop(k) for k in ("seed", "num_inference_steps", "guidance_scale", "scheduler",
                                  "negative_prompt", "mode") if k in kw}
    kw.setdefault("size", SIZE)
    return client.images.generate(extra_body=ext or None, **kw)


def test_generate_png_of_requested_size_with_metadata(client):
    r = gen(client, prompt="a red circle on white", size="96x64", seed=7,
            num_inference_steps=2, guidance_scale=1.5, negative_prompt="blue")
    assert isinstance(r.created, int) and r.created > 0
    assert len(r.data) == 1
    png = pngcheck.decode_b64(r.data[0].b64_json)
    assert (png.width, png.height, png.channels) == (96, 64, 3)
    # the pixels are an image, not a constant fill
    assert len(set(png.pixels)) > 16
    params = png.text["parameters"]
    for want in ("a red circle on white", "Negative prompt: blue", "Steps: 2", "Guidance: 1.5",
                 "Scheduler: flow-match-euler", "Seed: 7", "Size: 96x64", f"Model: {REALTIME_ID}"):
        assert want in params, (want, params)
    # pictor's extensions, reachable through the SDK's response objects
    assert extra(r.data[0], "seed") == 7
    assert (extra(r, "width"), extra(r, "height")) == (96, 64)
    assert extra(r, "model") == REALTIME_ID
    assert isinstance(extra(r, "inference_ms"), (int, float)) and extra(r, "inference_ms") > 0
    receipt = extra(r, "receipt")
    assert isinstance(receipt, str) and "2 steps" in receipt and "flow-match-euler" in receipt


def test_same_seed_same_image_other_seed_other_image(client):
    a = gen(client, prompt="a lighthouse", seed=1234)
    b = gen(client, prompt="a lighthouse", seed=1234)
    c = gen(client, prompt="a lighthouse", seed=1235)
    pa, pb, pc = (pngcheck.decode_b64(x.data[0].b64_json).pixels for x in (a, b, c))
    assert pa == pb
    assert pa != pc


def test_random_seed_is_reported_and_reproduces(client):
    a = gen(client, prompt="a teapot")
    seed = extra(a.data[0], "seed")
    assert isinstance(seed, int) and 0 <= seed < 2**31
    b = gen(client, prompt="a teapot", seed=seed)
    assert pngcheck.decode_b64(a.data[0].b64_json).pixels == \
        pngcheck.decode_b64(b.data[0].b64_json).pixels
    assert f"Seed: {seed}" in pngcheck.decode_b64(a.data[0].b64_json).text["parameters"]


def test_batch_of_two(client):
    r = gen(client, prompt="two cats", n=2, seed=3)
    assert len(r.data) == 2
    imgs = [pngcheck.decode_b64(d.b64_json) for d in r.data]
    assert all((p.width, p.height) == (64, 64) for p in imgs)
    assert imgs[0].pixels != imgs[1].pixels, "a batch of two gave the same image twice"
    assert [extra(d, "seed") for d in r.data] == [3, 3]
    assert "batched" in extra(r, "receipt")


@pytest.mark.parametrize("how,want", [
    ({"model": "tiny"}, REALTIME_ID),                 # an alias
    ({"model": QUALITY_ID}, QUALITY_ID),              # an id
    ({"quality": "high"}, QUALITY_ID),                # OpenAI's quality → the quality mode
    ({"quality": "hd"}, QUALITY_ID),
    ({"quality": "low"}, REALTIME_ID),
    ({"quality": "medium"}, REALTIME_ID),
    ({"quality": "standard"}, REALTIME_ID),
    ({"quality": "auto"}, REALTIME_ID),
    ({"mode": "quality"}, QUALITY_ID),
    ({"mode": "realtime"}, REALTIME_ID),
    ({}, REALTIME_ID),                                # absent → the realtime mode's model
])
def test_model_selection(client, how, want):
    r = gen(client, prompt="x", **how)
    assert extra(r, "model") == want
    assert f"Model: {want}" in pngcheck.decode_b64(r.data[0].b64_json).text["parameters"]


def test_request_id_echoed_and_generated(client):
    raw = client.images.with_raw_response.generate(
        prompt="x", size=SIZE, extra_headers={"x-request-id": "sdk-test-42"})
    assert raw.headers["x-request-id"] == "sdk-test-42"
    assert raw.parse().data[0].b64_json
    raw = client.images.with_raw_response.generate(prompt="x", size=SIZE)
    rid = raw.headers["x-request-id"]
    assert rid.startswith("req_") and len(rid) == 20, rid
    assert raw.request_id == rid  # the SDK exposes it too


def test_models_list(client):
    models = {m.id: m for m in client.models.list()}
    assert set(models) == {REALTIME_ID, QUALITY_ID}
    rt, hq = models[REALTIME_ID], models[QUALITY_ID]
    assert rt.object == "model" and rt.owned_by == "test"
    assert extra(rt, "family") == "flux"
    assert extra(rt, "mode") == "realtime" and extra(hq, "mode") == "quality"
    assert extra(rt, "aliases") == ["tiny"]
    d = extra(rt, "defaults")
    assert d["steps"] == 4 and d["step_ceiling"] == 4 and d["scheduler"] == "flow-match-euler"
    assert extra(hq, "defaults")["step_ceiling"] == 2
    assert extra(rt, "licence")


def test_b64_is_strict_base64(client):
    r = gen(client, prompt="x")
    raw = base64.b64decode(r.data[0].b64_json, validate=True)
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")


def test_negative_prompt_ignored_is_said_in_receipt(client):
    """API.md: negative_prompt is "ignored (and said so in the receipt) where
    the model applies no CFG" — FLUX applies none."""
    with_neg = extra(gen(client, prompt="x", negative_prompt="blurry"), "receipt")
    without = extra(gen(client, prompt="x"), "receipt")
    assert "negative" in with_neg.lower(), with_neg
    assert "negative" not in without.lower(), without
