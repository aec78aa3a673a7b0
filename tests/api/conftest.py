"""tests/api/conftest.py — fixtures shared by the pictord API tests.

The build folder comes from $PICTOR_BUILD (tests/scripts/api_python.sh sets it).
Servers: `server` (open, queue 16) and `keyed_server` (API keys) live for one
test module; `make_server(**settings)` starts a private one for one test
(overload, drain, disconnect). Every server is stopped with SIGTERM at the end
and must exit with status 0; its log is printed when a test fails.
"""
import os
import sys
from pathlib import Path

import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pictord import REPO, Pictord  # noqa: E402

KEYS = ["secret-one", "secret-two"]
SDK_TIMEOUT_S = 300


@pytest.fixture(scope="session")
def build_dir():
    b = Path(os.environ.get("PICTOR_BUILD", "build"))
    if not b.is_absolute():
        b = REPO / b
    return b


def _start(build_dir, tmp_path_factory, name, **settings):
    return Pictord(build_dir, tmp_path_factory.mktemp(name), **settings).start()


def _finish(srv):
    rc = srv.stop()
    assert rc == 0, f"pictord exited with {rc}:\n{srv.log_text()[-3000:]}"


@pytest.fixture(scope="module")
def server(build_dir, tmp_path_factory):
    srv = _start(build_dir, tmp_path_factory, "server")
    yield srv
    _finish(srv)


@pytest.fixture(scope="module")
def keyed_server(build_dir, tmp_path_factory):
    srv = _start(build_dir, tmp_path_factory, "keyed", keys=KEYS)
    yield srv
    _finish(srv)


@pytest.fixture
def make_server(build_dir, tmp_path_factory):
    started = []

    def make(**settings):
        srv = _start(build_dir, tmp_path_factory, "private", **settings)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        _finish(srv)


def sdk_client(srv, key="unused-key"):
    """The official SDK pointed at srv, retries off so each status is seen once."""
    return openai.OpenAI(base_url=srv.base_url, api_key=key, max_retries=0,
                         timeout=SDK_TIMEOUT_S)


@pytest.fixture
def client(server):
    return sdk_client(server)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of each running server's log."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    for name in ("server", "keyed_server"):
        srv = item.funcargs.get(name)
        if isinstance(srv, Pictord):
            rep.sections.append((f"pictord log ({name})", srv.log_text()[-3000:]))
