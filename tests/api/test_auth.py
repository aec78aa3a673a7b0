"""Bearer-key auth on every route (API.md): missing, wrong and right keys;
/healthz and /readyz need none; auth comes before the body is read."""
import signal

import pytest

from conftest import KEYS
from pictord import poll

ROUTES = [  # (method, path, body)
    ("GET", "/v1/models", None),
    ("GET", "/metrics", None),
    ("GET", "/v1/receipts", None),
    ("POST", "/v1/images/generations", {"prompt": "x", "size": "64x64"}),
]
RIGHT = [f"Bearer {KEYS[0]}", f"Bearer {KEYS[1]}", f"bearer {KEYS[0]}",  # scheme: any case
         f"Bearer  {KEYS[1]}"]
WRONG = [None, "", "Bearer", "Bearer ", "Bearer wrong", f"Bearer {KEYS[0][:-1]}",
         f"Bearer {KEYS[0]}x", f"Bearer {KEYS[0]},{KEYS[1]}", f"Basic {KEYS[0]}", KEYS[0],
         f"Token {KEYS[0]}"]


def call(srv, method, path, body, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    return srv.request(method, path, body=body, headers=headers)


@pytest.mark.parametrize("method,path,body", ROUTES, ids=[r[1] for r in ROUTES])
@pytest.mark.parametrize("authorization", WRONG, ids=repr)
def test_wrong_or_missing_key_is_401(keyed_server, method, path, body, authorization):
    r = call(keyed_server, method, path, body, authorization)
    assert r.status == 401, r
    e = r.error()
    assert (e["code"], e["param"], e["type"]) == ("invalid_api_key", None, "invalid_request_error")
    assert r.headers.get("x-request-id")
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("method,path,body", ROUTES, ids=[r[1] for r in ROUTES])
@pytest.mark.parametrize("authorization", RIGHT, ids=repr)
def test_right_key_is_served(keyed_server, method, path, body, authorization):
    r = call(keyed_server, method, path, body, authorization)
    assert r.status == 200, r
    if path != "/metrics":
        assert r.json()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Bearer {KEYS[0]}"], ids=repr)
def test_health_routes_need_no_key(keyed_server, path, authorization):
    r = call(keyed_server, "GET", path, None, authorization)
    assert r.status == 200, r
    assert r.headers.get("x-request-id")


def test_auth_before_body_limit_and_json(keyed_server):
    """No key: 401 even for a body over the limit or not JSON."""
    gen = "/v1/images/generations"
    assert call(keyed_server, "POST", gen, "{" * 70000, None).status == 401
    assert call(keyed_server, "POST", gen, "{", "Bearer wrong").status == 401
    r = call(keyed_server, "POST", gen, "{" * 70000, f"Bearer {KEYS[0]}")
    assert r.status == 413 and r.error()["code"] == "request_too_large"


def test_open_server_needs_no_key(server):
    for method, path, body in ROUTES:
        assert call(server, method, path, body, None).status == 200
        assert call(server, method, path, body, "Bearer anything").status == 200


def test_sighup_reloads_keys(keyed_server):
    keyfile = keyed_server.workdir / "api-keys"

    def status(key):
        return call(keyed_server, "GET", "/v1/models", None, f"Bearer {key}").status

    try:
        keyfile.write_text("new-key\n")
        keyed_server.proc.send_signal(signal.SIGHUP)
        poll(lambda: status("new-key") == 200, "the new key to be accepted")
        assert status(KEYS[0]) == 401
    finally:
        keyfile.write_text("\n".join(KEYS) + "\n")
        keyed_server.proc.send_signal(signal.SIGHUP)
        poll(lambda: status(KEYS[0]) == 200, "the old keys to be back")
