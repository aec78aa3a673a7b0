#!/bin/bash
# tests/scripts/t5_precision.sh — PICTOR_T5_PRECISION under --precision fp8
# (docs/configuration.md): by default T5 runs in FP8 with the FLUX blocks,
# `bf16` keeps it in bf16 — the image changes, both stay within the
# pipeline's bound — and a value that is neither is said on stderr and
# ignored (the default's result).
set -u
B=${PICTOR_BUILD:-build}
P="$B/bin/pictor"
C=tests/fixtures/pipeline_flux_dev
fail() { echo "FAIL: $*"; exit 1; }
rel() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["outputs"]["image"]["rel_l2"])' "$1"; }

fp8=$("$P" check "$C" --precision fp8 2>/dev/null) || fail "fp8 (T5 fp8): $fp8"
bf=$(PICTOR_T5_PRECISION=bf16 "$P" check "$C" --precision fp8 2>/dev/null) || fail "fp8 (T5 bf16): $bf"
[ "$(rel "$fp8")" != "$(rel "$bf")" ] || fail "PICTOR_T5_PRECISION=bf16 changed nothing: $fp8"
bad=$(PICTOR_T5_PRECISION=fp4 "$P" check "$C" --precision fp8 2>"${TMPDIR:-/tmp}/t5p.err") ||
    fail "a bad value is ignored, not fatal: $bad"
grep -q "PICTOR_T5_PRECISION=fp4 is not fp8 or bf16" "${TMPDIR:-/tmp}/t5p.err" ||
    fail "no message for a bad value: $(cat "${TMPDIR:-/tmp}/t5p.err")"
[ "$(rel "$bad")" = "$(rel "$fp8")" ] || fail "a bad value should give the default: $bad"
# other precisions ignore it
a=$("$P" check "$C" --precision bf16 2>/dev/null) || fail "bf16: $a"
b=$(PICTOR_T5_PRECISION=bf16 "$P" check "$C" --precision bf16 2>/dev/null) || fail "bf16: $b"
[ "$(rel "$a")" = "$(rel "$b")" ] || fail "bf16 precision changed by the T5 switch"
rm -f "${TMPDIR:-/tmp}/t5p.err"
echo "PASS t5_precision"
