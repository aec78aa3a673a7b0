"""Overload (API.md: "Queue full: 429 with Retry-After"): 20 requests at once
against queue_length 4 (one device worker). Every request gets exactly one
answer, each a 200 with a valid image or a 429 error object; nothing else,
and the metrics count the same."""
import threading

import pngcheck
from pictord import counter

N = 20
QUEUE = 4
SIZE = 128  # ~1 s a job on a CPU: the queue fills while the first ones run
GEN = "/v1/images/generations"


def test_overload_only_200_and_429(make_server):
    # threads > N: every request is inside a handler at once, so the queue,
    # not civetweb's thread pool, is what refuses them.
    srv = make_server(queue_length=QUEUE, threads=N + 4)
    before = srv.metrics()
    answers = {}
    errors = []
    go = threading.Barrier(N)

    def one(i):
        rid = f"overload-{i:02d}"
        try:
            go.wait()
            r = srv.generate({"prompt": f"request {i}", "size": f"{SIZE}x{SIZE}", "seed": i},
                             headers={"x-request-id": rid})
            answers.setdefault(rid, []).append(r)
        except Exception as exc:  # a lost request: reset, timeout...
            errors.append((rid, exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    assert sorted(answers) == sorted(f"overload-{i:02d}" for i in range(N))
    assert all(len(v) == 1 for v in answers.values())
    ok = rejected = 0
    for rid, (r,) in sorted(answers.items()):
        assert r.headers.get("x-request-id") == rid, (rid, r.headers)
        if r.status == 200:
            doc = r.json()
            assert len(doc["data"]) == 1 and doc["data"][0]["seed"] == int(rid[-2:])
            png = pngcheck.decode_b64(doc["data"][0]["b64_json"])
            assert (png.width, png.height) == (SIZE, SIZE)
            assert png.text["parameters"].startswith(f"request {int(rid[-2:])}\n")
            ok += 1
        else:
            assert r.status == 429, (rid, r)
            e = r.error()
            assert (e["code"], e["type"], e["param"]) == \
                ("rate_limit_exceeded", "rate_limit_error", None)
            assert int(r.headers["retry-after"]) >= 1
            rejected += 1
    assert ok + rejected == N
    # the queue holds QUEUE waiting jobs; one more runs once the worker has
    # taken it, which may be after the burst: at least QUEUE get in
    assert ok >= QUEUE, f"only {ok} admitted: the first {QUEUE} always fit"
    assert rejected >= 1, "20 requests at once never filled a queue of 4"

    after = srv.metrics()

    def delta(name, **labels):
        return counter(after, name, **labels) - counter(before, name, **labels)
    assert delta("pictord_requests_total", route=GEN, status=200) == ok
    assert delta("pictord_requests_total", route=GEN, status=429) == rejected
    assert delta("pictord_rejections_total", reason="queue_full") == rejected
    assert delta("pictord_jobs_total", outcome="done") == ok
    assert counter(after, "pictord_queue_depth") == 0
    assert counter(after, "pictord_jobs_running") == 0
