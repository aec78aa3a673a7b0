#!/bin/bash
# tests/scripts/server_stream.sh — pictord's streaming and disconnect
# handling on loopback with the tiny FLUX fixture (API.md `stream`,
# `partial_images`; OpenAI's image_generation.* server-sent events):
#   1. SSE: headers (text/event-stream, chunked, no Content-Length,
#      x-request-id), the event sequence and every event's JSON fields for
#      partial_images 0 and 2 with n 1 and 2, each partial and final image a
#      PNG of the asked size, the streamed final image equal to the
#      non-streamed one of the same seed, an HTTP/1.0 (close-delimited) stream;
#   2. a client that hangs up while its job is queued: the job leaves the
#      queue and never runs (jobs cancelled, stage "queued"); one that hangs
#      up while its job runs, plain or streaming: the worker stops it
#      (stage "running"), disconnects and status 499 are counted, and the
#      next request completes;
#   3. an error after the stream started (shutdown with drain_timeout 0):
#      an `error` event carrying the OpenAI error object, then the end.
# Clients are hung up by killing curl once /metrics shows their job queued
# or running, so no step depends on how fast this machine is.
set -u
B=${PICTOR_BUILD:-build}
D="$B/bin/pictord"
MODEL=tests/fixtures/pipeline_flux_schnell/model
SLOW=256x256 # a few seconds per job on the tiny fixture (4 steps)
T=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
. tests/harness/pictord.sh # fail, free_port, start, stop

# metric NAME_WITH_LABELS -> its value (0 when absent)
metric() {
    curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}
# wait_metric NAME VALUE [SECONDS]: until the metric equals VALUE
wait_metric() {
    local limit=$(( ${3:-60} * 10 ))
    for _ in $(seq 1 "$limit"); do
        [ "$(metric "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    fail "$1 is $(metric "$1") after ${3:-60} s, want $2"
}

# stream BODY OUT [curl args...]: the raw event stream to OUT, headers to OUT.hdr
stream() {
    local body=$1 out=$2; shift 2
    curl -sN -o "$out" -D "$out.hdr" -X POST "$@" --data-binary "$body" \
        "$URL/v1/images/generations"
}

# check_events FILE W H N PARTIALS SEED: the stream's events, in order:
# for each partial image p (0..PARTIALS-1) N partial events (image_index
# 0..N-1), then N completed events; every field OpenAI's SDK types name,
# our extensions, every image a PNG of W x H (final ones with `parameters`).
check_events() {
    python3 - "$@" <<'PY'
import base64, json, struct, sys, zlib
path, w, h, n, parts, seed = sys.argv[1], *map(int, sys.argv[2:7])
raw = open(path, "rb").read().decode()
assert raw.endswith("\n\n"), "stream does not end with a blank line"
events = []
for block in raw[:-2].split("\n\n"):
    lines = block.split("\n")
    assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block[:200]
    events.append((lines[0][7:], json.loads(lines[1][6:])))
want = [("image_generation.partial_image", p, i) for p in range(parts) for i in range(n)]
want += [("image_generation.completed", None, i) for i in range(n)]
got = [(e, d.get("partial_image_index"), d.get("image_index")) for e, d in events]
assert got == want, (got, want)
common = {"type", "b64_json", "created_at", "size", "quality", "background", "output_format",
          "image_index", "seed"}
for name, d in events:
    assert d["type"] == name
    if name.endswith("partial_image"):
        assert set(d) == common | {"partial_image_index"}, sorted(d)
    else:
        assert set(d) == common | {"usage", "model", "width", "height", "inference_ms", "receipt"}, sorted(d)
        u = d["usage"]
        assert set(u) == {"input_tokens", "input_tokens_details", "output_tokens", "total_tokens"}, u
        assert set(u["input_tokens_details"]) == {"image_tokens", "text_tokens"}, u
        assert (d["width"], d["height"]) == (w, h) and d["model"] and d["receipt"]
        assert d["inference_ms"] > 0
    assert d["size"] == f"{w}x{h}" and d["output_format"] == "png"
    assert d["background"] in ("transparent", "opaque", "auto")
    assert d["quality"] in ("low", "medium", "high", "auto")
    assert isinstance(d["created_at"], int) and d["created_at"] > 1.7e9
    assert d["seed"] == seed
    png = base64.b64decode(d["b64_json"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        ln, = struct.unpack(">I", png[pos:pos + 4])
        chunks.setdefault(png[pos + 4:pos + 8], []).append(png[pos + 8:pos + 8 + ln])
        pos += 12 + ln
    assert struct.unpack(">II", chunks[b"IHDR"][0][:8]) == (w, h)
    assert len(zlib.decompress(b"".join(chunks[b"IDAT"]))) == h * (1 + 3 * w)
    final = name.endswith("completed")
    assert (b"tEXt" in chunks) == final, "parameters chunk on final images only"
PY
}
# check_headers FILE.hdr CHUNKED(1|0)
check_headers() {
    local h=$1
    grep -qi '^HTTP/1\.[01] 200' "$h" || fail "status: $(head -n1 "$h")"
    grep -qi '^content-type: text/event-stream' "$h" || fail "no text/event-stream: $(cat "$h")"
    grep -qi '^x-request-id: ' "$h" || fail "no x-request-id"
    grep -qi '^content-length:' "$h" && fail "a stream with Content-Length"
    if [ "$2" = 1 ]; then
        grep -qi '^transfer-encoding: chunked' "$h" || fail "HTTP/1.1 stream not chunked"
    else
        grep -qi '^transfer-encoding:' "$h" && fail "HTTP/1.0 stream with Transfer-Encoding"
    fi
    return 0
}

# ---- 1. event sequence and fields -------------------------------------------------
start --model "$MODEL"
stream '{"prompt":"a red circle","size":"64x64","seed":7,"stream":true}' "$T/s0"
check_headers "$T/s0.hdr" 1
check_events "$T/s0" 64 64 1 0 7 || fail "stream, partial_images absent, n 1"
stream '{"prompt":"a red circle","size":"64x64","seed":7,"stream":true,"partial_images":0,"n":2}' "$T/s1"
check_events "$T/s1" 64 64 2 0 7 || fail "stream, partial_images 0, n 2"
stream '{"prompt":"a red circle","size":"96x64","seed":7,"stream":true,"partial_images":2}' "$T/s2" \
    -H 'x-request-id: sse-1'
grep -qi '^x-request-id: sse-1' "$T/s2.hdr" || fail "x-request-id not echoed on a stream"
check_events "$T/s2" 96 64 1 2 7 || fail "stream, partial_images 2, n 1"
stream '{"prompt":"a red circle","size":"64x64","seed":9,"stream":true,"partial_images":2,"n":2,"quality":"hd"}' "$T/s3"
check_events "$T/s3" 64 64 2 2 9 || fail "stream, partial_images 2, n 2"
grep -q '"quality":"high"' "$T/s3" || fail "quality hd is not reported as high"
# partial_images 3 on the 4-step model: previews after steps 1, 2 and 3
stream '{"prompt":"a red circle","size":"64x64","seed":7,"stream":true,"partial_images":3}' "$T/s4"
check_events "$T/s4" 64 64 1 3 7 || fail "stream, partial_images 3"
# HTTP/1.0: the body ends when the connection closes
stream '{"prompt":"a red circle","size":"64x64","seed":7,"stream":true,"partial_images":1}' "$T/s5" --http1.0
check_headers "$T/s5.hdr" 0
check_events "$T/s5" 64 64 1 1 7 || fail "HTTP/1.0 stream"
# previews change nothing: the streamed final image is the plain answer's
curl -s -o "$T/plain" -X POST --data-binary '{"prompt":"a red circle","size":"96x64","seed":7}' \
    "$URL/v1/images/generations"
python3 - "$T/plain" "$T/s2" <<'PY' || fail "streamed final image differs from the non-streamed one"
import json, sys
plain = json.load(open(sys.argv[1]))["data"][0]["b64_json"]
last = open(sys.argv[2]).read().strip().split("\n\n")[-1].split("\n")[1][6:]
assert json.loads(last)["b64_json"] == plain
PY
# validation still answers before any event: a plain JSON error
c=$(curl -s -o "$T/e" -w '%{http_code}' -X POST --data-binary '{"prompt":"x","stream":true,"partial_images":4}' "$URL/v1/images/generations")
[ "$c" = 422 ] && grep -q '"param":"partial_images"' "$T/e" || fail "partial_images 4 with stream: $c $(cat "$T/e")"
c=$(curl -s -o "$T/e" -w '%{http_code}' -X POST --data-binary '{"prompt":"x","stream":true,"num_inference_steps":9}' "$URL/v1/images/generations")
[ "$c" = 422 ] || fail "invalid streaming request: $c"

# ---- 2. disconnects -----------------------------------------------------------------
done0=$(metric 'pictord_jobs_total{outcome="done"}')
# 2a. queued: X runs (its client stays), B waits behind it, B's client leaves
curl -s -o "$T/x" -w '%{http_code}' -X POST --data-binary "{\"prompt\":\"x\",\"size\":\"$SLOW\"}" \
    "$URL/v1/images/generations" > "$T/x.code" &
XC=$!
wait_metric pictord_jobs_running 1 30
curl -s -o /dev/null -X POST --data-binary '{"prompt":"b","size":"64x64"}' "$URL/v1/images/generations" &
BC=$!
wait_metric pictord_queue_depth 1 30
kill "$BC"; wait "$BC" 2>/dev/null
wait_metric 'pictord_jobs_cancelled_total{stage="queued"}' 1 10
wait_metric pictord_queue_depth 0 1
[ "$(metric pictord_disconnects_total)" = 1 ] || fail "queued disconnect not counted"
wait "$XC"
[ "$(cat "$T/x.code")" = 200 ] || fail "the job ahead of the cancelled one: $(cat "$T/x.code")"
[ "$(metric 'pictord_jobs_total{outcome="done"}')" = $((done0 + 1)) ] || fail "the cancelled queued job ran"
# 2b. running, plain request: the worker stops between steps
curl -s -o /dev/null -X POST --data-binary "{\"prompt\":\"a\",\"size\":\"$SLOW\"}" \
    "$URL/v1/images/generations" &
AC=$!
wait_metric pictord_jobs_running 1 30
kill "$AC"; wait "$AC" 2>/dev/null
wait_metric 'pictord_jobs_cancelled_total{stage="running"}' 1 60
wait_metric pictord_jobs_running 0 1
[ "$(metric pictord_disconnects_total)" = 2 ] || fail "running disconnect not counted"
# 2c. running, streaming request
curl -sN -o "$T/sd" -X POST --data-binary \
    "{\"prompt\":\"s\",\"size\":\"$SLOW\",\"stream\":true,\"partial_images\":2}" \
    "$URL/v1/images/generations" &
SC=$! # curl itself: killing it closes the connection
wait_metric pictord_jobs_running 1 30
kill "$SC"; wait "$SC" 2>/dev/null
wait_metric 'pictord_jobs_cancelled_total{stage="running"}' 2 60
[ "$(metric pictord_disconnects_total)" = 3 ] || fail "streaming disconnect not counted"
[ "$(metric 'pictord_requests_total{route="/v1/images/generations",status="499"}')" = 3 ] ||
    fail "status 499 not counted 3 times: $(curl -s "$URL/metrics" | grep 499)"
[ "$(metric 'pictord_jobs_total{outcome="done"}')" = $((done0 + 1)) ] || fail "a cancelled job finished"
# the worker is free: the next request completes (generous bound, no timing claim)
c=$(curl -s -m 120 -o "$T/next" -w '%{http_code}' -X POST --data-binary '{"prompt":"n","size":"64x64"}' \
    "$URL/v1/images/generations")
[ "$c" = 200 ] || fail "request after the disconnects: $c"
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "exit status $rc"

# ---- 3. an error after the stream started ------------------------------------------------
cat > "$T/pictord.ini" <<INI
[server]
drain_timeout = 0
devices = cpu

[modes]
realtime = test/flux-tiny

[model test/flux-tiny]
path = $PWD/$MODEL
INI
start --config "$T/pictord.ini"
curl -sN -o "$T/se" -D "$T/se.hdr" -X POST --data-binary \
    "{\"prompt\":\"e\",\"size\":\"$SLOW\",\"stream\":true,\"partial_images\":3}" \
    "$URL/v1/images/generations" &
SC=$!
wait_metric pictord_jobs_running 1 30
kill -TERM "$PID"
wait "$SC"
wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
check_headers "$T/se.hdr" 1
python3 - "$T/se" <<'PY' || fail "no error event at the end of the stream: $(tail -c 400 "$T/se")"
import json, sys
blocks = open(sys.argv[1]).read().strip().split("\n\n")
ev, data = blocks[-1].split("\n")
assert ev == "event: error", ev
e = json.loads(data[6:])["error"]
assert set(e) == {"message", "type", "param", "code"}, e
assert e["code"] == "service_unavailable" and "cancelled" in e["message"], e
assert all(not b.startswith("event: image_generation.completed") for b in blocks)
PY
echo "ok"
