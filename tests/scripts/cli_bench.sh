#!/bin/bash
# tests/scripts/cli_bench.sh — `pictor bench` end to end on the CPU with the
# tiny FLUX test pipeline: on its real files and on --random-weights of the
# same folder, stdout is exactly one JSON object whose fields have the
# contract's names, types and sane values (durations are never compared
# with anything: benchmarks are not timed tests); the full-size random
# FLUX model is refused with one clear message when host memory is short;
# bad arguments end with a message and a non-zero status.
set -u
B=${PICTOR_BUILD:-build}
P="$B/bin/pictor"
M=tests/fixtures/pipeline_flux_schnell/model
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T
# the source tree's data folder, whatever folder the build is in
export PICTOR_DATA_DIR=${PICTOR_DATA_DIR:-$PWD/share/pictor}
fail() { echo "FAIL: $*"; exit 1; }

check_json() { # file random_weights runs
    python3 - "$@" <<'PY' || exit 1
import json, sys
path, random_weights, runs = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
text = open(path).read()
o = json.loads(text)  # exactly one JSON value: anything else raises
assert text.strip().count("\n") == 0, "one line of output"
assert o["device"] == "cpu" and o["precision"] == "fp32", o
assert o["model"].endswith("pipeline_flux_schnell/model"), o["model"]
assert o["variant"] == "flux.1-schnell", o["variant"]
assert o["size"] == "64x64" and o["steps"] == 2 and o["runs"] == runs, o
assert o["random_weights"] is random_weights, o
st = o["stages_ms"]
keys = ["text_encode", "step_median", "denoise_total", "vae_decode", "png_encode", "image_total"]
assert sorted(st) == sorted(keys), st
for k in keys:
    assert isinstance(st[k], float) and st[k] > 0, (k, st[k])
# Internal consistency only (no durations asserted): parts never exceed the whole.
assert st["step_median"] <= st["denoise_total"] * 1.0001, st
assert st["text_encode"] + st["denoise_total"] + st["vae_decode"] <= st["image_total"] * 1.05, st
assert o["peak_vram_gb"] is None, "no VRAM on the CPU"
assert isinstance(o["peak_rss_gb"], float) and o["peak_rss_gb"] > 0, o
assert isinstance(o["load_s"], float) and o["load_s"] >= 0, o
PY
}

"$P" bench --model "$M" --size 64x64 --steps 2 --runs 2 >"$T/real.json" 2>"$T/real.err" ||
    fail "bench on files: $(cat "$T/real.err")"
check_json "$T/real.json" 0 2 || fail "JSON on files: $(cat "$T/real.json")"

"$P" bench --model "$M" --random-weights --size 64x64 --steps 2 --runs 1 >"$T/rand.json" \
    2>"$T/rand.err" || fail "bench --random-weights: $(cat "$T/rand.err")"
check_json "$T/rand.json" 1 1 || fail "JSON with random weights: $(cat "$T/rand.json")"
grep -q "random weights of" "$T/rand.err" || fail "no note of the random folder"
ls "$T" | grep -q pictor-random && fail "random model folder left behind"

# --profile: one more image with every op timed; the table names the ops
# and their operands; the JSON is the unprofiled runs' as without it.
"$P" bench --model "$M" --size 64x64 --steps 2 --runs 2 --profile >"$T/prof.json" 2>"$T/prof.err" ||
    fail "bench --profile: $(cat "$T/prof.err")"
check_json "$T/prof.json" 0 2 || fail "JSON with --profile: $(cat "$T/prof.json")"
grep -q "^# op profile on cpu: .* op calls" "$T/prof.err" || fail "no profile table: $(cat "$T/prof.err")"
grep -qE "TF/s  matmul.* \[[0-9,]+\]f32" "$T/prof.err" || fail "no matmul row: $(cat "$T/prof.err")"
grep -qE "TF/s  sdpa " "$T/prof.err" || fail "no sdpa row: $(cat "$T/prof.err")"

# --write-weights: the random weights become real safetensors files (what
# loading from the page cache is timed on); they hold the very bytes the
# synthetic source serves, so both kept folders make the same picture.
"$P" bench --model "$M" --random-weights --keep-random --size 64x64 --steps 1 --runs 1 \
    >/dev/null 2>"$T/k1.err" || fail "bench --keep-random: $(cat "$T/k1.err")"
"$P" bench --model "$M" --random-weights --write-weights --keep-random --size 64x64 --steps 1 \
    --runs 1 >"$T/w.json" 2>"$T/k2.err" || fail "bench --write-weights: $(cat "$T/k2.err")"
d1=$(sed -n 's/^pictor bench: random-weights model kept in //p' "$T/k1.err")
d2=$(sed -n 's/^pictor bench: random-weights model kept in //p' "$T/k2.err")
[ -d "$d1" ] && [ -d "$d2" ] || fail "kept folders not named: $(cat "$T/k1.err" "$T/k2.err")"
grep -q "wrote [0-9.]* GB of safetensors" "$T/k2.err" || fail "no write note: $(cat "$T/k2.err")"
for c in transformer text_encoder text_encoder_2 vae; do
    [ -f "$d2/$c/model.safetensors" ] || fail "$c: no model.safetensors written"
    [ -e "$d2/$c/random-weights.tsv" ] && fail "$c: random-weights.tsv left beside the file"
    [ -f "$d1/$c/random-weights.tsv" ] || fail "$c: --keep-random alone keeps the tsv"
done
for d in "$d1" "$d2"; do
    "$P" generate --model "$d" --prompt "a red circle" --size 64x64 --steps 1 --seed 3 \
        -o "$d.png" >/dev/null 2>"$T/g.err" || fail "generate on $d: $(cat "$T/g.err")"
done
cmp -s "$d1.png" "$d2.png" || fail "the written weights differ from the synthetic ones"
"$P" bench --model "$M" --write-weights >/dev/null 2>"$T/e4" && fail "--write-weights alone accepted"
grep -q "write-weights" "$T/e4" || fail "--write-weights message: $(cat "$T/e4")"

# Full-size FLUX.1-schnell: 34 GB of bf16 weights. Where the host has less
# memory, a clear refusal before anything is generated; with enough memory
# it would run for hours on the CPU, so only the refusal is checked.
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "${avail_kb:-0}" -lt 37000000 ]; then
    timeout 60 "$P" bench --model flux-schnell --random-weights --device cpu >"$T/full.json" \
        2>"$T/full.err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "full-size refusal: status $rc: $(cat "$T/full.err")"
    grep -q "need 3[0-9.]* GB of host memory" "$T/full.err" ||
        fail "full-size refusal message: $(cat "$T/full.err")"
    [ -s "$T/full.json" ] && fail "refusal printed JSON"
fi

# bf16 and fp8 run on the CPU too (the GPU's arithmetic: 16-bit weights and
# activations; FP8 linears emulated exactly in f32).
for pr in bf16 fp8; do
    "$P" bench --model "$M" --precision $pr --device cpu --size 64x64 --steps 1 --runs 1 \
        >"$T/$pr.json" 2>"$T/e1" || fail "$pr on the CPU: $(cat "$T/e1")"
    grep -q "\"precision\": \"$pr\"" "$T/$pr.json" || fail "$pr JSON: $(cat "$T/$pr.json")"
done
"$P" bench --model "$M" --runs 0 >/dev/null 2>"$T/e2" && fail "--runs 0 accepted"
grep -q "runs" "$T/e2" || fail "runs message: $(cat "$T/e2")"
"$P" bench --model sdxl-turbo --random-weights >/dev/null 2>"$T/e3" && fail "unknown id accepted"
[ -s "$T/e3" ] || fail "no message for an unknown id"
echo "PASS cli_bench"
