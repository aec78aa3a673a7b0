#!/bin/bash
# tests/scripts/check_against.sh — `pictor check --against P2 [--bound R]`:
# a case judged against pictor's own outputs at another precision (the fp8
# vs bf16 accuracy check of tools/gpu-check, here on the tiny FLUX
# transformer case on the CPU): the same precision on both sides gives
# exactly 0, fp8 against bf16 a real difference, the bound decides the
# verdict, no expected file is needed, and the temporary file is removed.
set -u
B=${PICTOR_BUILD:-build}
P="$B/bin/pictor"
C=tests/fixtures/flux_transformer_schnell
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T
export PICTOR_DATA_DIR=${PICTOR_DATA_DIR:-$PWD/share/pictor}
fail() { echo "FAIL: $*"; exit 1; }
field() { # json-line key -> value of outputs.sample.KEY or of a top-level key
    python3 -c 'import json,sys; o=json.loads(sys.argv[1]); k=sys.argv[2]
print(o["outputs"]["sample"][k] if k in ("rel_l2","max_abs") else o[k])' "$1" "$2"
}

# a copy of the case without its expected file
mkdir "$T/case"
ln -s "$PWD/$C/model" "$T/case/model"
ln -s "$PWD/$C/inputs.safetensors" "$T/case/inputs.safetensors"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["expected"]="absent.safetensors"
json.dump(d, open(sys.argv[2], "w"))' "$C/case.json" "$T/case/case.json"
"$P" check "$T/case" >/dev/null 2>&1 && fail "a case without its expected file passed"

out=$("$P" check "$T/case" --precision fp32 --against fp32 2>"$T/err") ||
    fail "fp32 against fp32: $(cat "$T/err") $out"
[ "$(field "$out" rel_l2)" = 0 ] || fail "fp32 against itself is not exact: $out"
[ "$(field "$out" against)" = fp32 ] || fail "no against field: $out"

out=$("$P" check "$T/case" --precision fp8 --against bf16 2>"$T/err") ||
    fail "fp8 against bf16: $(cat "$T/err") $out"
python3 -c 'import sys; r=float(sys.argv[1]); sys.exit(0 if 1e-3 < r < 0.2 else 1)' \
    "$(field "$out" rel_l2)" || fail "fp8 vs bf16 should differ by FP8's error: $out"

"$P" check "$T/case" --precision fp8 --against bf16 --bound 1e-6 >"$T/out" 2>/dev/null
[ $? -eq 1 ] || fail "a bound of 1e-6 did not fail the case: $(cat "$T/out")"
grep -q '"rel_l2_bound":1e-06' "$T/out" || fail "bound not reported: $(cat "$T/out")"
"$P" check "$T/case" --bound -1 >/dev/null 2>"$T/err" && fail "--bound -1 accepted"
grep -q "positive" "$T/err" || fail "--bound message: $(cat "$T/err")"
ls "$T"/pictor-check-* >/dev/null 2>&1 && fail "temporary outputs left behind"
echo "PASS check_against"
