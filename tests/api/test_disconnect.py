"""A client that hangs up (API.md /metrics: "disconnects"): the server counts
the disconnect, cancels the job so the worker is free, and serves the next
request. Checked through /metrics: pictord_disconnects_total, and
pictord_jobs_total{outcome="cancelled"} rather than "done" — a job that ran to
its end after its client left fails the test as soon as it is counted."""
import socket
import threading

import pngcheck
from pictord import counter

SLOW = '{"prompt": "a slow one", "size": "256x256"}'  # ~10 s on a CPU: 4 steps of ~2 s


def send_and_keep(srv, body):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall((f"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")
              .encode())
    return s


def hang_up(s):
    s.shutdown(socket.SHUT_RDWR)
    s.close()


def jobs(m, outcome):
    return counter(m, "pictord_jobs_total", outcome=outcome)


def settle(srv, before, done_allowed, what):
    """Waits until one more job is cancelled, or more than done_allowed more
    jobs ran to their end (the hung-up one among them); returns the metrics
    after asserting no job beyond done_allowed was done."""
    m = srv.wait_metric(lambda m: jobs(m, "cancelled") > jobs(before, "cancelled") or
                        jobs(m, "done") > jobs(before, "done") + done_allowed, what, timeout=120)
    done = int(jobs(m, "done") - jobs(before, "done"))
    assert done == done_allowed, \
        f"{done} job(s) done, {done_allowed} expected: the hung-up client's job ran to its end"
    return m


def test_hang_up_while_running(make_server):
    srv = make_server(queue_length=4, drain_timeout=5)
    before = srv.metrics()
    s = send_and_keep(srv, SLOW)
    srv.wait_metric(lambda m: counter(m, "pictord_jobs_running") == 1, "the job to start")
    hang_up(s)
    m = settle(srv, before, 0, "the job to be cancelled")
    assert counter(m, "pictord_disconnects_total") >= counter(before,
                                                              "pictord_disconnects_total") + 1
    srv.wait_metric(lambda m: counter(m, "pictord_jobs_running") == 0, "the worker to be free")
    r = srv.generate({"prompt": "next", "size": "64x64"})
    assert r.status == 200, r
    assert pngcheck.decode_b64(r.json()["data"][0]["b64_json"]).width == 64


def test_hang_up_while_queued(make_server):
    """The waiting job of a client that left never runs."""
    srv = make_server(queue_length=4, drain_timeout=5)
    first = {}
    t = threading.Thread(target=lambda: first.setdefault(
        "r", srv.generate({"prompt": "stays", "size": "192x192"})))
    t.start()
    srv.wait_metric(lambda m: counter(m, "pictord_jobs_running") == 1, "the first job to run")
    before = srv.metrics()
    s = send_and_keep(srv, SLOW)
    srv.wait_metric(lambda m: counter(m, "pictord_queue_depth") == 1, "the second to wait")
    hang_up(s)
    t.join()
    assert first["r"].status == 200, first["r"]
    m = settle(srv, before, 1, "the waiting job to be cancelled")
    assert counter(m, "pictord_disconnects_total") > counter(before, "pictord_disconnects_total")
