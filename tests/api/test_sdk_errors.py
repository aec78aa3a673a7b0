"""pictord's error statuses through the official SDK (retries off): each maps
to the exception class the SDK defines for it, with the OpenAI error object's
param/code/type on the exception and the request id."""
import threading

import openai
import pytest

from conftest import KEYS, sdk_client
from pictord import counter


def check_error(exc, status, param, code, type_):
    assert exc.status_code == status
    assert exc.body is not None and set(exc.body) == {"message", "type", "param", "code"}, exc.body
    assert (exc.param, exc.code, exc.type) == (param, code, type_), exc.body
    assert exc.message and exc.body["message"]
    assert exc.request_id and exc.response.headers["x-request-id"] == exc.request_id


def test_400_bad_request(client):
    with pytest.raises(openai.BadRequestError) as ei:
        client.post("/images/generations", body=[1, 2], cast_to=object)
    check_error(ei.value, 400, None, "invalid_json", "invalid_request_error")
    with pytest.raises(openai.BadRequestError) as ei:
        client.post("/images/generations", content=b'{"prompt": "x",', cast_to=object,
                    options={"headers": {"Content-Type": "application/json"}})
    check_error(ei.value, 400, None, "invalid_json", "invalid_request_error")


def test_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as ei:
        client.images.generate(prompt="x", model="dall-e-3", size="64x64")
    check_error(ei.value, 404, "model", "model_not_found", "invalid_request_error")
    assert "dall-e-3" in ei.value.body["message"]


@pytest.mark.parametrize("kw,param,code", [
    ({"size": "4000x1024"}, "size", "invalid_size"),
    ({"n": 5}, "n", "invalid_value"),
    ({"response_format": "url"}, "response_format", "unsupported_value"),
    ({"output_format": "jpeg"}, "output_format", "unsupported_value"),
    ({"quality": "max"}, "quality", "invalid_value"),
    ({"extra_body": {"num_inference_steps": 51}}, "num_inference_steps", "invalid_value"),
    ({"extra_body": {"seed": "7"}}, "seed", "invalid_type"),
])
def test_422_unprocessable(client, kw, param, code):
    with pytest.raises(openai.UnprocessableEntityError) as ei:
        client.images.generate(prompt="x", **kw)
    check_error(ei.value, 422, param, code, "invalid_request_error")


def test_413_is_a_plain_api_status_error(client):
    """The SDK has no subclass for 413: it raises APIStatusError itself."""
    with pytest.raises(openai.APIStatusError) as ei:
        client.images.generate(prompt="a" * 70000, size="64x64")
    assert type(ei.value) is openai.APIStatusError
    check_error(ei.value, 413, None, "request_too_large", "invalid_request_error")


def test_401_authentication(keyed_server):
    no_header = {"Authorization": openai.omit}  # the SDK then sends none
    for key, hdrs in (("unused", no_header), ("wrong-key", None), (KEYS[0] + "x", None)):
        c = sdk_client(keyed_server, key=key)
        with pytest.raises(openai.AuthenticationError) as ei:
            c.images.generate(prompt="x", size="64x64", extra_headers=hdrs)
        check_error(ei.value, 401, None, "invalid_api_key", "invalid_request_error")
        with pytest.raises(openai.AuthenticationError):
            c.models.list(extra_headers=hdrs)
    ok = sdk_client(keyed_server, key=KEYS[1])
    assert ok.images.generate(prompt="x", size="64x64").data[0].b64_json
    assert [m.id for m in ok.models.list()]


def test_429_rate_limit(make_server):
    """queue_length 1: while one job runs and one waits, the next is refused
    at once. (queue_length 0, which docs/configuration.md allows, is refused
    at start-up by the job queue.)"""
    srv = make_server(queue_length=1)
    slow = []
    threads = [threading.Thread(target=lambda i=i: slow.append(
        srv.generate({"prompt": f"slow {i}", "size": "160x160"}))) for i in range(2)]
    try:
        # one after the other: a job waits in the queue until the worker takes it
        threads[0].start()
        srv.wait_metric(lambda m: counter(m, "pictord_jobs_running") == 1, "the first to run")
        threads[1].start()
        srv.wait_metric(lambda m: counter(m, "pictord_jobs_running") == 1 and
                        counter(m, "pictord_queue_depth") == 1, "one job running, one waiting")
        with pytest.raises(openai.RateLimitError) as ei:
            sdk_client(srv).images.generate(prompt="x", size="64x64")
        check_error(ei.value, 429, None, "rate_limit_exceeded", "rate_limit_error")
        assert int(ei.value.response.headers["retry-after"]) >= 1
    finally:
        for t in threads:
            if t.is_alive() or t.ident:
                t.join()
    assert [r.status for r in slow] == [200, 200], slow
