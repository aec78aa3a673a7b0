#!/bin/bash
# tests/scripts/server_api.sh — pictord end to end on loopback with the tiny
# FLUX fixture (API.md): generation (PNG of the asked size, x-request-id,
# seed reproducibility), every validation rule (status, param, code), 400
# for malformed JSON, 413, auth on each route, 429 under overload with
# queue_length 1, SIGTERM drain (in-flight completes, exit 0).
set -u
B=${PICTOR_BUILD:-build}
D="$B/bin/pictord"
MODEL=tests/fixtures/pipeline_flux_schnell/model
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
. tests/harness/pictord.sh # fail, free_port, start, stop

# post BODY [curl args...] -> status in $CODE, body in $T/body, headers in $T/hdr
post() {
    local body=$1; shift
    CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' "$@" --data-binary "$body" \
        "$URL/v1/images/generations")
}
# expect STATUS PARAM CODE BODY: an OpenAI error object with those values
expect() {
    local st=$1 param=$2 code=$3 body=$4
    post "$body"
    [ "$CODE" = "$st" ] || fail "$body: status $CODE, want $st: $(cat "$T/body")"
    python3 - "$T/body" "$param" "$code" <<'PY' || fail "$body: $(cat "$T/body")"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert set(e) == {"message", "type", "param", "code"}, e
want_p = None if sys.argv[2] == "-" else sys.argv[2]
want_c = None if sys.argv[3] == "-" else sys.argv[3]
assert e["param"] == want_p, (e["param"], want_p)
assert e["code"] == want_c, (e["code"], want_c)
assert e["message"], e
PY
    grep -qi '^x-request-id: ' "$T/hdr" || fail "$body: no x-request-id"
}
# check_png RESPONSE_JSON W H N: every data[i].b64_json a PNG of W x H
check_png() {
    python3 - "$@" <<'PY'
import base64, json, struct, sys, zlib
r = json.load(open(sys.argv[1])); w, h, n = map(int, sys.argv[2:5])
assert len(r["data"]) == n, r.keys()
assert (r["width"], r["height"]) == (w, h) and r["model"] and r["receipt"], r
for d in r["data"]:
    data = base64.b64decode(d["b64_json"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        ln, = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
        chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + ln]); pos += 12 + ln
    assert struct.unpack(">II", chunks[b"IHDR"][0][:8]) == (w, h)
    assert b"".join(chunks[b"tEXt"]).startswith(b"parameters\0")
    assert len(zlib.decompress(b"".join(chunks[b"IDAT"]))) == h * (1 + 3 * w)
    assert 0 <= d["seed"] < 2**31
PY
}

# ---- 1. generation, reproducibility, validation ------------------------------
start --model "$MODEL"
post '{"prompt":"a red circle","size":"64x64","seed":7}' -H 'x-request-id: abc-123'
[ "$CODE" = 200 ] || fail "generation: $CODE $(head -c 300 "$T/body")"
grep -qi '^x-request-id: abc-123' "$T/hdr" || fail "x-request-id not echoed"
check_png "$T/body" 64 64 1 || fail "PNG check"
cp "$T/body" "$T/first"
post '{"prompt":"a red circle","size":"64x64","seed":7}'
grep -qi '^x-request-id: req_' "$T/hdr" || fail "no generated x-request-id"
python3 -c 'import json,sys; a,b=(json.load(open(f))["data"][0]["b64_json"] for f in sys.argv[1:]); assert a==b' \
    "$T/first" "$T/body" || fail "same seed gave a different image"
post '{"prompt":"a red circle","size":"64x64","n":2,"quality":"low","mode":"realtime","user":"u","style":"vivid","background":"auto","moderation":"low","unknown_field":1,"stream":false,"response_format":"b64_json","output_format":"png","num_inference_steps":2,"guidance_scale":1.5,"scheduler":"flow-match-euler","negative_prompt":"blue","partial_images":0}'
[ "$CODE" = 200 ] || fail "n=2: $CODE $(head -c 300 "$T/body")"
check_png "$T/body" 64 64 2 || fail "n=2 PNGs"
post '{"prompt":"x","size":"64x64","model":"flux.1-schnell"}'
[ "$CODE" = 200 ] || fail "model by id: $CODE"

LONG=$(python3 -c 'print("a"*32001)')
NEG=$(python3 -c 'print("a"*2001)')
expect 400 - invalid_json '{"prompt": "x",'
expect 400 - invalid_json '[1,2]'
expect 422 prompt missing_required_parameter '{"size":"64x64"}'
expect 422 prompt invalid_value '{"prompt":""}'
expect 422 prompt invalid_value "{\"prompt\":\"$LONG\"}"
expect 422 prompt invalid_type '{"prompt":5}'
expect 404 model model_not_found '{"prompt":"x","model":"dall-e-3"}'
expect 422 model invalid_type '{"prompt":"x","model":1}'
expect 422 mode invalid_value '{"prompt":"x","mode":"fast"}'
expect 422 quality invalid_value '{"prompt":"x","quality":"ultra"}'
expect 422 size invalid_size '{"prompt":"x","size":"4000x1024"}'
expect 422 size invalid_size '{"prompt":"x","size":"32x64"}'
expect 422 size invalid_size '{"prompt":"x","size":"66x64"}'
expect 422 size invalid_size '{"prompt":"x","size":"big"}'
expect 422 n invalid_value '{"prompt":"x","n":5}'
expect 422 n invalid_value '{"prompt":"x","n":0}'
expect 422 n invalid_type '{"prompt":"x","n":"2"}'
expect 422 response_format unsupported_value '{"prompt":"x","response_format":"url"}'
expect 422 output_format unsupported_value '{"prompt":"x","output_format":"jpeg"}'
expect 422 num_inference_steps invalid_value '{"prompt":"x","num_inference_steps":0}'
expect 422 num_inference_steps invalid_value '{"prompt":"x","num_inference_steps":51}'
expect 422 num_inference_steps invalid_value '{"prompt":"x","num_inference_steps":5}'
expect 422 guidance_scale invalid_value '{"prompt":"x","guidance_scale":20.5}'
expect 422 guidance_scale invalid_type '{"prompt":"x","guidance_scale":"high"}'
expect 422 scheduler invalid_value '{"prompt":"x","scheduler":"nope"}'
expect 422 scheduler invalid_value '{"prompt":"x","scheduler":"euler-a"}'
expect 422 seed invalid_value '{"prompt":"x","seed":-1}'
expect 422 seed invalid_value '{"prompt":"x","seed":2147483648}'
expect 422 negative_prompt invalid_value "{\"prompt\":\"x\",\"negative_prompt\":\"$NEG\"}"
expect 422 stream invalid_type '{"prompt":"x","stream":"yes"}'
expect 422 partial_images invalid_value '{"prompt":"x","partial_images":4}'
expect 422 partial_images invalid_value '{"prompt":"x","partial_images":-1,"stream":true}'
expect 422 partial_images invalid_type '{"prompt":"x","partial_images":"2","stream":true}'
CODE=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/nope"); [ "$CODE" = 404 ] || fail "unknown route $CODE"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/v1/images/generations"); [ "$CODE" = 405 ] || fail "GET generations $CODE"
# 413: Content-Length over the 64 KiB default, and a chunked body over it
BIG=$(python3 -c 'print("{\"prompt\":\"" + "a"*70000 + "\"}")')
expect 413 - request_too_large "$BIG"
post "$BIG" -H 'Transfer-Encoding: chunked'
[ "$CODE" = 413 ] || fail "chunked 413: $CODE"
for r in /v1/models /healthz /readyz /metrics /v1/receipts; do
    CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$URL$r")
    [ "$CODE" = 200 ] || fail "$r: $CODE"
    grep -qi '^x-request-id: ' "$T/hdr" || fail "$r: no x-request-id"
done
curl -s "$URL/v1/models" | python3 -c 'import json,sys; m=json.load(sys.stdin); d=m["data"][0]; assert m["object"]=="list" and d["object"]=="model" and d["family"]=="flux" and d["defaults"]["steps"]==4, m' || fail "/v1/models"
curl -s "$URL/metrics" | grep -q '^pictord_requests_total{route="/v1/images/generations",status="422"}' || fail "metrics"
curl -s "$URL/metrics" | grep -q '^pictord_inference_seconds_count 4' || fail "inference histogram"
curl -s "$URL/metrics" > "$T/metrics"
for m in 'pictord_queue_depth 0' 'pictord_queue_wait_seconds_count 4' \
    'pictord_rejections_total{reason="body_too_large"} 2' 'pictord_disconnects_total 0' \
    'pictord_jobs_cancelled_total{stage="queued"} 0' 'pictord_models_loaded 1'; do
    grep -qxF "$m" "$T/metrics" || fail "/metrics lacks '$m'"
done
stop || fail "exit status $? after SIGTERM"

# ---- 2. auth ----------------------------------------------------------------------
printf '# keys\n\nsecret-one\n  secret-two  \n' > "$T/keys"
start --model "$MODEL" --api-key-file "$T/keys"
for r in /v1/models /metrics /v1/receipts; do
    c1=$(curl -s -o "$T/body" -w '%{http_code}' "$URL$r")
    c2=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL$r")
    c3=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer secret-two' "$URL$r")
    [ "$c1/$c2/$c3" = 401/401/200 ] || fail "auth $r: $c1/$c2/$c3"
    grep -q '"code":"invalid_api_key"' "$T/body" || fail "401 body: $(cat "$T/body")"
done
for r in /healthz /readyz; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL$r")" = 200 ] || fail "$r needs no key"
done
expect 401 - invalid_api_key '{"prompt":"x","size":"64x64"}'
post '{"prompt":"x","size":"64x64"}' -H 'Authorization: Bearer secret-one'
[ "$CODE" = 200 ] || fail "authorised generation: $CODE"
echo "secret-three" > "$T/keys"; kill -HUP "$PID"; sleep 0.5
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer secret-three' "$URL/v1/models")" = 200 ] || fail "SIGHUP reload"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer secret-one' "$URL/v1/models")" = 401 ] || fail "old key after reload"
stop || fail "exit status after SIGTERM (auth)"

# ---- 3. overload: queue_length 1, 10 concurrent requests -> only 200/429 ------------
cat > "$T/pictord.ini" <<INI
[server]
queue_length = 1
drain_timeout = 20
devices = cpu

[modes]
realtime = test/flux-tiny

[model test/flux-tiny]
path = $PWD/$MODEL
aliases = tiny
INI
start --config "$T/pictord.ini"
for i in $(seq 1 10); do
    curl -s -o "$T/o$i" -D "$T/h$i" -w '%{http_code}' -X POST "$URL/v1/images/generations" \
        --data-binary "{\"prompt\":\"p$i\",\"size\":\"128x128\",\"model\":\"tiny\"}" > "$T/c$i" &
done
wait $(jobs -p | grep -v "^$PID$") 2>/dev/null
n200=0; n429=0
for i in $(seq 1 10); do
    c=$(cat "$T/c$i")
    case $c in
    200) check_png "$T/o$i" 128 128 1 || fail "overload PNG $i"; n200=$((n200 + 1)) ;;
    429) grep -qi '^retry-after: ' "$T/h$i" || fail "429 without Retry-After"
         grep -q '"code":"rate_limit_exceeded"' "$T/o$i" || fail "429 body"; n429=$((n429 + 1)) ;;
    *) fail "overload request $i: $c $(cat "$T/o$i")" ;;
    esac
done
[ "$n200" -ge 1 ] && [ "$n429" -ge 1 ] || fail "overload: $n200 x 200, $n429 x 429"

# ---- 4. SIGTERM drain: the in-flight request completes, new ones are refused -------
curl -sS -o "$T/inflight" -w '%{http_code}' -X POST "$URL/v1/images/generations" \
    --data-binary '{"prompt":"slow","size":"192x192"}' > "$T/inflight_code" 2> "$T/inflight_err" &
CURL=$!
sleep 0.3
kill -TERM "$PID"
sleep 0.2
c=$(curl -s -o "$T/late" -w '%{http_code}' -X POST "$URL/v1/images/generations" \
    --data-binary '{"prompt":"late","size":"64x64"}')
[ "$c" = 503 ] || [ "$c" = 000 ] || fail "request during drain: $c"
wait "$CURL"
[ "$(cat "$T/inflight_code")" = 200 ] || fail "in-flight request during drain: $(cat "$T/inflight_code") $(cat "$T/inflight_err")"
check_png "$T/inflight" 192 192 1 || fail "in-flight PNG"
wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "exit status $rc after drain"
echo "ok (overload: $n200 x 200, $n429 x 429; during drain: $c)"
