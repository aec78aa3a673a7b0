"""tests/api/st_hooks.py — schemathesis hook (SCHEMATHESIS_HOOKS=st_hooks) that
keeps generated image requests cheap on a CPU without narrowing the schema.

docs/openapi.yaml allows what pictord allows: sizes up to 2048x2048, `auto`
(the model's default, 1024x1024 for FLUX), n up to 4. One such image takes
minutes on a CPU. Just before each call, a request whose size is valid for
the test model but large — or absent/`auto` — gets size 64x64 instead. A valid
size stays valid, so a positive case stays positive and a negative case keeps
the fault it was generated with (any invalid size is left as it is); the
checks run on the request actually sent.

Second, `model` is any string in the schema (ids are configuration), so
nearly every generated body names an unknown model and stops at 404. Half of
them (those of even length, to stay deterministic) get a configured id
instead ($PICTOR_TEST_MODELS) — still a string, so the case keeps its class —
and the other rules get exercised too. tests/api/README.md explains it.
"""
import os
import re

import schemathesis

GEN_PATH = "/v1/images/generations"
CHEAP = "64x64"
MAX_PIXELS = 2 * 64 * 64  # W x H x n above this is replaced (~0.4 s on a loaded CPU)
GRANULARITY = int(os.environ.get("PICTOR_TEST_GRANULARITY", "16"))
MODELS = [m for m in os.environ.get("PICTOR_TEST_MODELS", "").split(",") if m]
SIDE = re.compile(r"^([0-9]+)x([0-9]+)$")


def _valid_side(v):
    return 64 <= v <= 2048 and v % GRANULARITY == 0


def _expensive(body):
    size = body.get("size")
    if size is None or size == "auto":
        return True
    m = SIDE.match(size) if isinstance(size, str) else None
    if not m:
        return False  # invalid or oddly typed: pictord refuses it quickly
    w, h = int(m.group(1)), int(m.group(2))
    if not (_valid_side(w) and _valid_side(h)):
        return False
    n = body.get("n")
    n = n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4 else 1
    return w * h * n > MAX_PIXELS


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.path != GEN_PATH or case.method.upper() != "POST":
        return
    if not isinstance(case.body, dict):
        return
    body = dict(case.body)
    model = body.get("model")
    if MODELS and isinstance(model, str) and model not in MODELS and len(model) % 2 == 0:
        body["model"] = MODELS[len(model) // 2 % len(MODELS)]
    if _expensive(body):
        body["size"] = CHEAP
    if body != case.body:
        case.body = body
