"""docs/openapi.yaml: it validates as OpenAPI, describes every route of API.md
with its auth, headers and error object, and schemathesis runs against a live
pictord with it — a bounded, seeded run that must find no server error and no
response that breaks the schema (tests/api/README.md)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from conftest import KEYS
from pictord import REPO

SPEC_PATH = REPO / "docs/openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
ROUTES = {("post", "/v1/images/generations"), ("get", "/v1/models"), ("get", "/healthz"),
          ("get", "/readyz"), ("get", "/metrics"), ("get", "/v1/receipts")}
OPEN_ROUTES = {"/healthz", "/readyz"}

# schemathesis: bounded and reproducible (deterministic generation: no seed)
ST_MAX_EXAMPLES = 40    # per operation, fuzzing phase
ST_TIMEOUT_S = 150      # the whole run; it takes well under a minute here
ST_CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                      "response_headers_conformance", "response_schema_conformance",
                      "negative_data_rejection", "ignored_auth"])


def test_spec_validates():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


def test_every_route_of_api_md():
    have = {(m, p) for p, ops in SPEC["paths"].items() for m in ops}
    assert have == ROUTES


def resolve(obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = SPEC
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


@pytest.mark.parametrize("method,path", sorted(ROUTES))
def test_route_auth_headers_and_errors(method, path):
    op = SPEC["paths"][path][method]
    assert SPEC["security"] == [{"bearerAuth": []}]
    assert SPEC["components"]["securitySchemes"]["bearerAuth"] == \
        {**SPEC["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    if path in OPEN_ROUTES:
        assert op["security"] == []
    else:
        assert "security" not in op and "401" in op["responses"]
    for status, resp in op["responses"].items():
        resp = resolve(resp)
        assert "x-request-id" in resp.get("headers", {}), (path, status)
        if status in ("429", "503"):
            assert "Retry-After" in resp["headers"], (path, status)
        if status[0] in "45":
            schema = resp["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)


def test_generation_documents_every_status_of_api_md():
    op = SPEC["paths"]["/v1/images/generations"]["post"]
    assert set(op["responses"]) == {"200", "400", "401", "404", "413", "422", "429", "500", "503"}
    assert set(op["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    err = SPEC["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(err["required"]) == {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def st_server(build_dir, tmp_path_factory):
    from pictord import Pictord
    srv = Pictord(build_dir, tmp_path_factory.mktemp("st"), keys=KEYS, queue_length=64).start()
    yield srv
    rc = srv.stop()
    assert rc == 0, srv.log_text()[-3000:]


def test_schemathesis(st_server, tmp_path):
    models = st_server.get("/v1/models", key=KEYS[0]).json()["data"]
    granularity = models[0]["defaults"]["size_granularity"]
    st = Path(sys.executable).with_name("st")
    cmd = [str(st), "run", str(SPEC_PATH), "--url", f"http://127.0.0.1:{st_server.port}",
           "--header", f"Authorization: Bearer {KEYS[0]}",
           "--checks", ST_CHECKS, "--max-examples", str(ST_MAX_EXAMPLES),
           "--generation-deterministic",
           "--workers", "1", "--request-timeout", "60", "--no-color",
           "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "st_hooks",
           "PYTHONPATH": str(Path(__file__).parent), "PICTOR_TEST_GRANULARITY": str(granularity),
           "PICTOR_TEST_MODELS": ",".join(m["id"] for m in models)}
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=ST_TIMEOUT_S)
    print(p.stdout[-6000:], p.stderr[-3000:])
    assert p.returncode == 0, \
        f"schemathesis failed (exit {p.returncode}):\n{p.stdout[-6000:]}\n{p.stderr[-2000:]}"
    # the run really exercised generation: images made, requests refused
    m = st_server.metrics(key=KEYS[0])
    gen = {int(k.split('status="')[1][:3]): v for k, v in m.items()
           if k.startswith('pictord_requests_total{route="/v1/images/generations"')}
    print("schemathesis generation requests by status:", gen)
    assert gen.get(200, 0) >= 5 and gen.get(422, 0) >= 20, gen
