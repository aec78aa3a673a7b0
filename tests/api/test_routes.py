"""The routes besides generation (API.md "Other routes"): bodies, x-request-id
on every answer, and /metrics as well-formed Prometheus text that counts
what happened."""
import re

import pytest

from pictord import counter

GEN = "/v1/images/generations"
ROUTES = ["/v1/models", "/healthz", "/readyz", "/metrics", "/v1/receipts"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_answers_with_a_request_id(server, path):
    r = server.get(path, headers={"x-request-id": "route-check-1"})
    assert r.status == 200, r
    assert r.headers["x-request-id"] == "route-check-1"
    r = server.get(path, headers={"x-request-id": "has space"})  # not echoed: replaced
    assert re.fullmatch(r"req_[0-9a-f]{16}", r.headers["x-request-id"]), r.headers
    r = server.get(path, headers={"x-request-id": "x" * 64})  # too long: replaced
    assert r.headers["x-request-id"].startswith("req_")


def test_health_and_ready_bodies(server):
    assert server.get("/healthz").json() == {"status": "ok"}
    assert server.get("/readyz").json() == {"status": "ready"}


def test_head_is_get_without_body(server):
    r = server.request("HEAD", "/healthz")
    assert r.status == 200 and r.body == b"" and r.headers.get("x-request-id")


def test_receipts_is_a_list(server):
    doc = server.get("/v1/receipts").json()
    assert doc["object"] == "list" and isinstance(doc["data"], list)


def parse_exposition(text):
    """{family: type} and [(name, labels, value)]; AssertionError on a line
    that is not Prometheus text format 0.0.4."""
    types, samples = {}, []
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                        r'(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*)\})? (\S+)$')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            m = sample.match(line)
            assert m, f"bad sample line {line!r}"
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', m.group(2) or ""))
            samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def test_metrics_exposition(server):
    before = server.metrics()
    server.generate({"prompt": "x", "size": "64x64"})
    server.generate({"prompt": "x", "n": 9})
    r = server.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    types, samples = parse_exposition(r.body.decode())
    # API.md: requests by status, queue depth, queue and inference time
    # histograms, rejections, disconnects (GPU memory: only with a GPU)
    for family, kind in [("pictord_requests_total", "counter"),
                         ("pictord_rejections_total", "counter"),
                         ("pictord_disconnects_total", "counter"),
                         ("pictord_queue_depth", "gauge"),
                         ("pictord_queue_wait_seconds", "histogram"),
                         ("pictord_inference_seconds", "histogram")]:
        assert types.get(family) == kind, (family, types.get(family))
    for family, kind in types.items():  # every sample belongs to a declared family
        if kind == "histogram":
            buckets = [(s[1]["le"], s[2]) for s in samples if s[0] == family + "_bucket"]
            assert buckets and buckets[-1][0] == "+Inf", family
            values = [v for _, v in buckets]
            assert values == sorted(values), f"{family}: buckets not cumulative"
            count = [s[2] for s in samples if s[0] == family + "_count"]
            assert count == [values[-1]], family
    declared = set(types) | {f + suf for f, k in types.items() if k == "histogram"
                             for suf in ("_bucket", "_sum", "_count")}
    assert {s[0] for s in samples} <= declared
    after = server.metrics()
    assert counter(after, "pictord_requests_total", route=GEN, status=200) == \
        counter(before, "pictord_requests_total", route=GEN, status=200) + 1
    assert counter(after, "pictord_requests_total", route=GEN, status=422) == \
        counter(before, "pictord_requests_total", route=GEN, status=422) + 1
    assert counter(after, "pictord_inference_seconds_count") == \
        counter(before, "pictord_inference_seconds_count") + 1


@pytest.mark.parametrize("method,headers", [
    ("TRACE", {}),                           # a method civetweb refuses itself
    ("GET", {"x-request-id": "a\tb"}),       # HTAB inside a value: legal (RFC 9110 5.5)
], ids=["trace", "tab-in-header"])
def test_errors_from_the_http_layer_are_openai_errors(server, method, headers):
    """API.md: every response carries x-request-id and every error body is
    the OpenAI error object — also the ones civetweb sends before pictord's
    handler runs (mg_callbacks.http_error can format them). Fails today:
    civetweb answers 400 text/plain "Error 400: Bad Request"."""
    r = server.request(method, "/healthz", headers=headers)
    assert r.status in (400, 405), r
    assert r.headers.get("x-request-id"), r.headers
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    e = r.error()
    assert set(e) == {"message", "type", "param", "code"}
