"""tests/api/pictord.py — start and drive one pictord for a test.

Pictord(build_dir, workdir, **settings) writes an INI file (docs/configuration.md)
serving the tiny random-weight FLUX fixture under two ids — "test/flux-tiny"
(the realtime mode, alias "tiny") and "test/flux-tiny-hq" (the quality mode,
step ceiling 2) — starts pictord on a free loopback port, and waits for
/readyz. Requests go through http.client (no third-party code between the
test and the server); the SDK tests use .base_url.
"""
import http.client
import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "tests/fixtures/pipeline_flux_schnell/model"
REALTIME_ID = "test/flux-tiny"
QUALITY_ID = "test/flux-tiny-hq"
QUALITY_CEILING = 2
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
HTTP_TIMEOUT_S = 300  # a 256x256 generation on a loaded 2-core CPU is ~10 s

METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


class Response:
    """status, headers (lower-case names), body bytes; .json() and .error()."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def error(self):
        """The OpenAI error object's inner dict; AssertionError if absent."""
        doc = self.json()
        assert set(doc) == {"error"}, doc
        return doc["error"]

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ini_text(listen, queue_length=16, threads=8, drain_timeout=30, body_limit=65536,
             api_key_file=None):
    key = f"api_key_file = {api_key_file}\n" if api_key_file else ""
    return (f"[server]\nlisten = {listen}\nthreads = {threads}\nqueue_length = {queue_length}\n"
            f"drain_timeout = {drain_timeout}\nbody_limit = {body_limit}\n{key}devices = cpu\n\n"
            f"[modes]\nrealtime = {REALTIME_ID}\nquality = {QUALITY_ID}\n\n"
            f"[model {REALTIME_ID}]\npath = {MODEL_DIR}\nplugin = flux\naliases = tiny\n\n"
            f"[model {QUALITY_ID}]\npath = {MODEL_DIR}\nplugin = flux\n"
            f"step_ceiling = {QUALITY_CEILING}\nsteps = {QUALITY_CEILING}\naliases = tiny-hq\n")


class Pictord:
    def __init__(self, build_dir, workdir, keys=None, **settings):
        self.binary = Path(build_dir) / "bin/pictord"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keys = list(keys or [])
        self.settings = settings
        self.proc = None
        self.port = None
        self.log_path = self.workdir / "pictord.log"

    # ---- life cycle --------------------------------------------------------
    def start(self):
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: build it first (make BUILD=...)")
        key_file = None
        if self.keys:
            key_file = self.workdir / "api-keys"
            key_file.write_text("# test keys\n" + "\n".join(self.keys) + "\n")
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            ini = self.workdir / "pictord.ini"
            ini.write_text(ini_text(f"127.0.0.1:{self.port}", api_key_file=key_file,
                                    **self.settings))
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen([str(self.binary), "--config", str(ini)], cwd=REPO,
                                         stdout=self.log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self.log.close()
            if "cannot listen" not in self.log_path.read_text():
                break
        raise RuntimeError(f"pictord did not become ready:\n{self.log_text()}")

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.get("/readyz").status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        return False

    def log_text(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def sigterm(self):
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=STOP_TIMEOUT_S):
        """Exit status, or None (after SIGKILL) when it did not exit in time."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        """SIGTERM (unless it already exited) and wait; returns the exit
        status (negative when a signal ended it, -9 after a kill)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.sigterm()
            self.wait()
        self.log.close()
        return self.proc.returncode

    # ---- HTTP ---------------------------------------------------------------
    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    def request(self, method, path, body=None, headers=None, key=None, timeout=HTTP_TIMEOUT_S):
        """One request on a fresh connection. body: dict/list (sent as JSON),
        bytes or str (sent as they are), an iterable of bytes (sent chunked
        when headers name Transfer-Encoding), or None."""
        hdrs = dict(headers or {})
        if key is not None:
            hdrs["Authorization"] = f"Bearer {key}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode()
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            chunked = any(k.lower() == "transfer-encoding" for k in hdrs)
            conn.request(method, path, body=body, headers=hdrs, encode_chunked=chunked)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def generate(self, body, **kw):
        return self.request("POST", "/v1/images/generations", body=body, **kw)

    def metrics(self, key=None):
        """/metrics as {"name{labels}": value}."""
        r = self.get("/metrics", key=key)
        assert r.status == 200, r
        out = {}
        for line in r.body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            m = METRIC_LINE.match(line)
            assert m, f"not a Prometheus sample line: {line!r}"
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out

    def wait_metric(self, predicate, what, timeout=60, key=None):
        """Polls /metrics until predicate(metrics) holds; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics(key=key)
            if predicate(m):
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; metrics: {m}")
            time.sleep(0.05)


def poll(predicate, what, timeout=60):
    """Calls predicate() until it is true; AssertionError after timeout s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def counter(m, name, **labels):
    """A sample of metrics dict m (0 when absent: counters start unexported)."""
    if labels:
        name += "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    return m.get(name, 0.0)
