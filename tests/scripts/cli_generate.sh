#!/bin/bash
# tests/scripts/cli_generate.sh — `pictor generate` and `pictor inspect` end
# to end through the plugin loader, with the ABI-exerciser family and the
# 1.0-era flow scheduler from tests/plugins (PICTOR_PLUGIN_DIR points there):
# a PNG of the asked size comes out with its parameters chunk; the same seed
# gives the same file; bad requests end with one clear message, exit != 0.
set -u
B=${PICTOR_BUILD:-build}
P="$B/bin/pictor"
export PICTOR_PLUGIN_DIR="$B/tests/plugins"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$T/model/scheduler"
echo 60 > "$T/model/testfam.marker"
echo '{"_class_name": "TestPipeline"}' > "$T/model/model_index.json"
echo '{"_class_name": "TestScheduler"}' > "$T/model/scheduler/scheduler_config.json"

"$P" generate --model "$T/model" --prompt "a red circle" --size 64x80 --steps 3 \
    --scheduler oldminor --seed 42 -o "$T/a.png" > "$T/out.json" 2> "$T/err" || fail "generate: $(cat "$T/err")"
grep -q '"seed":42' "$T/out.json" || fail "seed not reported: $(cat "$T/out.json")"
python3 - "$T/a.png" <<'PY' || fail "PNG check"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
pos, chunks = 8, {}
while pos < len(data):
    n, = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
    chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + n]); pos += 12 + n
w, h = struct.unpack(">II", chunks[b"IHDR"][0][:8])
assert (w, h) == (64, 80), (w, h)
text = b"".join(chunks[b"tEXt"]).decode("latin-1")
assert text.startswith("parameters\0a red circle"), text
assert "Seed: 42" in text and "Steps: 3" in text and "Scheduler: oldminor" in text, text
raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
assert len(raw) == h * (1 + 3 * w), len(raw)
PY
"$P" generate --model "$T/model" --prompt "a red circle" --size 64x80 --steps 3 \
    --scheduler oldminor --seed 42 -o "$T/b.png" > /dev/null 2>&1 || fail "second run"
cmp -s "$T/a.png" "$T/b.png" || fail "same seed gave a different image"

# bad requests: one message, non-zero exit
expect_err() { # pattern args...
    local pat=$1; shift
    if "$P" "$@" > /dev/null 2> "$T/err"; then fail "accepted: $*"; fi
    grep -q -- "$pat" "$T/err" || fail "message for '$*' lacks '$pat': $(cat "$T/err")"
}
expect_err "No such file" generate --model "$T/missing" --prompt x -o "$T/x.png"
expect_err "multiple of 16" generate --model "$T/model" --prompt x --size 72x64 --scheduler oldminor -o "$T/x.png"
expect_err "at most 8 steps" generate --model "$T/model" --prompt x --steps 9 --scheduler oldminor -o "$T/x.png"
expect_err "no scheduler 'heun'" generate --model "$T/model" --prompt x --scheduler heun -o "$T/x.png"
expect_err "steps" generate --model "$T/model" --prompt x --steps 0 -o "$T/x.png"
expect_err "empty prompt" generate --model "$T/model" --prompt "" --scheduler oldminor -o "$T/x.png"
mkdir -p "$T/empty"
expect_err "model_index.json" generate --model "$T/empty" --prompt x -o "$T/x.png"

# the real FLUX plugin on the tiny fixture pipeline: same seed, same PNG;
# another seed, another PNG (PICTOR_PLUGIN_DIR: the build's own plugins)
FLUX="tests/fixtures/pipeline_flux_schnell/model"
k=0
for s in 5 5 6; do
    k=$((k + 1))
    PICTOR_PLUGIN_DIR="$B/lib/pictor/plugins" "$P" generate --model "$FLUX" --prompt "a red circle" \
        --size 64x64 --seed $s -o "$T/f$s-$k.png" > /dev/null 2> "$T/err" || fail "flux generate: $(cat "$T/err")"
done
set -- "$T"/f5-*.png
[ $# = 2 ] && cmp -s "$1" "$2" || fail "flux: same seed gave different PNGs"
cmp -s "$1" "$T"/f6-*.png && fail "flux: another seed gave the same PNG"

# --size is WxH, digits only, each side 64..2048: anything else exits 2
for bad in " 64x64" "+64x64" "64x64x" "64X64" "32x64" "64x4096" "x64" "64x"; do
    PICTOR_PLUGIN_DIR="$B/lib/pictor/plugins" "$P" generate --model "$FLUX" --prompt x \
        --size "$bad" -o "$T/bad.png" > /dev/null 2> "$T/err"
    rc=$?
    [ $rc = 2 ] && grep -q -- "--size" "$T/err" || fail "--size '$bad': rc $rc: $(cat "$T/err")"
done

# --device cuda on a machine without a usable GPU: exit 1 with one clear
# line (no driver, no GPU, or a build without CUDA), nothing written
if ! nvidia-smi -L > /dev/null 2>&1; then
    PICTOR_PLUGIN_DIR="$B/lib/pictor/plugins" "$P" generate --model "$FLUX" --prompt x \
        --device cuda -o "$T/nogpu.png" > /dev/null 2> "$T/err"
    rc=$?
    [ $rc = 1 ] && [ ! -e "$T/nogpu.png" ] && grep -qiE "driver|gpu|cuda" "$T/err" ||
        fail "--device cuda without a GPU: rc $rc: $(cat "$T/err")"
fi

# inspect names the family and variant
"$P" inspect "$T/model" > "$T/inspect" 2>&1 || true
grep -q "testfam-v60" "$T/inspect" || fail "inspect: $(cat "$T/inspect")"
echo "ok"
