"""stream: true (API.md: "SSE as OpenAI defines"): through the official SDK
the events come in order — partial_image events with partial_image_index
0.., then one image_generation.completed per image — every image decodes, and
the final image is the very image the same request gives without stream.
On the wire: text/event-stream, `event:` names equal to each data's `type`,
each data as docs/openapi.yaml's event schemas say.
Validation still answers 422 JSON before any event."""
import json

import yaml
from jsonschema import Draft202012Validator

import pngcheck
from conftest import sdk_client
from pictord import REPO

PARTIAL = "image_generation.partial_image"
COMPLETED = "image_generation.completed"
SIZE = "64x64"
COMPONENTS = yaml.safe_load((REPO / "docs/openapi.yaml").read_text())["components"]


def spec_validator(name):
    """A validator of docs/openapi.yaml's components/schemas/NAME."""
    return Draft202012Validator({"components": COMPONENTS,
                                 "$ref": f"#/components/schemas/{name}"})


def pixels(b64):
    return pngcheck.decode_b64(b64).pixels


def plain_images(server, **kw):
    r = server.generate({"prompt": "a paper boat", "size": SIZE, **kw})
    assert r.status == 200, r
    return [pixels(d["b64_json"]) for d in r.json()["data"]]


def test_sdk_stream_partial_images_2(server):
    client = sdk_client(server)
    stream = client.images.generate(prompt="a paper boat", size=SIZE, stream=True,
                                    partial_images=2, extra_body={"seed": 5})
    events = list(stream)
    assert [e.type for e in events] == [PARTIAL, PARTIAL, COMPLETED], [e.type for e in events]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    for e in events[:2]:
        png = pngcheck.decode_b64(e.b64_json)
        assert (png.width, png.height) == (64, 64)
    final = pngcheck.decode_b64(events[2].b64_json)
    assert (final.width, final.height) == (64, 64)
    assert "Seed: 5," in final.text["parameters"]
    assert final.pixels == plain_images(server, seed=5)[0], \
        "the streamed final image differs from the same request without stream"
    assert events[0].b64_json != events[2].b64_json


def test_sdk_stream_without_partials(server):
    events = list(sdk_client(server).images.generate(
        prompt="a paper boat", size=SIZE, stream=True, partial_images=0, extra_body={"seed": 6}))
    assert [e.type for e in events] == [COMPLETED]
    assert pixels(events[0].b64_json) == plain_images(server, seed=6)[0]


def test_sdk_stream_batch_of_two(server):
    events = list(sdk_client(server).images.generate(
        prompt="a paper boat", size=SIZE, n=2, stream=True, partial_images=1,
        extra_body={"seed": 8}))
    done = [e for e in events if e.type == COMPLETED]
    assert len(done) == 2, [e.type for e in events]
    assert events[-1].type == COMPLETED
    assert sorted(pixels(e.b64_json) for e in done) == sorted(plain_images(server, seed=8, n=2))


def parse_sse(body):
    """[(event name or None, data dict)] of a text/event-stream body."""
    out = []
    for record in body.decode().replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in record.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


def test_wire_format(server):
    r = server.generate({"prompt": "a paper boat", "size": SIZE, "stream": True,
                         "partial_images": 3, "seed": 9}, headers={"x-request-id": "sse-1"})
    assert r.status == 200, r
    assert r.headers["content-type"].split(";")[0].strip() == "text/event-stream"
    assert r.headers["x-request-id"] == "sse-1"
    events = parse_sse(r.body)
    assert events, r.body[:300]
    schemas = {PARTIAL: spec_validator("ImageGenPartialImageEvent"),
               COMPLETED: spec_validator("ImageGenCompletedEvent")}
    for name, data in events:
        assert name == data["type"], (name, data.get("type"))
        schemas[name].validate(data)  # the event as docs/openapi.yaml describes it
    types = [d["type"] for _, d in events]
    assert types == [PARTIAL] * 3 + [COMPLETED], types
    assert [d["partial_image_index"] for _, d in events[:3]] == [0, 1, 2]
    assert pixels(events[-1][1]["b64_json"]) == plain_images(server, seed=9)[0]


def test_stream_validation_is_still_json(server):
    r = server.generate({"prompt": "x", "size": "big", "stream": True, "partial_images": 2})
    assert r.status == 422 and r.error()["code"] == "invalid_size"
    assert r.headers["content-type"].startswith("application/json")
