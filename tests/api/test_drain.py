"""SIGTERM drain (API.md: "draining: 503 with Retry-After"): the running and
the queued jobs (three sent together) complete with valid images, new requests get 503 (through
raw HTTP and through the SDK's InternalServerError), /healthz stays 200,
and pictord exits with status 0."""
import threading

import openai
import pytest

import pngcheck
from conftest import sdk_client
from pictord import counter, poll

SIZE = 160  # ~1.5 s a job on a CPU


def test_sigterm_drains(make_server):
    srv = make_server(queue_length=4, drain_timeout=120)
    results = {}

    def one(i):
        results[i] = srv.generate({"prompt": f"in flight {i}", "size": f"{SIZE}x{SIZE}"})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    # all three received (running, waiting or done) and one still waiting:
    # running == 1 and queue >= 1 alone can hold before the third arrives
    srv.wait_metric(lambda m: counter(m, "pictord_jobs_running") == 1 and
                    counter(m, "pictord_queue_depth") >= 1 and
                    counter(m, "pictord_jobs_running") + counter(m, "pictord_queue_depth") +
                    counter(m, "pictord_jobs_total", outcome="done") == 3,
                    "all three received, one running, more waiting")
    srv.sigterm()
    # readiness flips first: from then on the drain is under way
    poll(lambda: srv.get("/readyz").status == 503, "/readyz to report draining")
    r = srv.get("/readyz")
    assert r.error()["code"] == "service_unavailable" and int(r.headers["retry-after"]) >= 1

    late = srv.generate({"prompt": "too late", "size": "64x64"})
    assert late.status == 503, late
    e = late.error()
    assert (e["code"], e["type"], e["param"]) == ("service_unavailable", "server_error", None)
    assert int(late.headers["retry-after"]) >= 1 and late.headers.get("x-request-id")
    with pytest.raises(openai.InternalServerError) as ei:
        sdk_client(srv).images.generate(prompt="too late", size="64x64")
    assert ei.value.status_code == 503 and ei.value.code == "service_unavailable"
    assert srv.get("/healthz").status == 200

    for t in threads:
        t.join()
    for i, r in sorted(results.items()):
        assert r.status == 200, (i, r)
        png = pngcheck.decode_b64(r.json()["data"][0]["b64_json"])
        assert (png.width, png.height) == (SIZE, SIZE)
        assert png.text["parameters"].startswith(f"in flight {i}\n")
    assert len(results) == 3
    rc = srv.wait()
    assert rc == 0, f"exit status {rc}:\n{srv.log_text()}"
    assert "draining" in srv.log_text()
