#!/bin/bash
# tests/scripts/fp8_attention.sh — PICTOR_FP8_ATTENTION under --precision
# fp8 (docs/configuration.md): off by default; `1` makes the FLUX
# transformer's attention pictor_sdpa_fp8 (the CPU runs it) — the image
# changes and stays within the pipeline's bound; `0` is the default; a value
# that is neither is said on stderr and means off; other precisions ignore it.
set -u
B=${PICTOR_BUILD:-build}
P="$B/bin/pictor"
C=tests/fixtures/pipeline_flux_schnell
ERR="${TMPDIR:-/tmp}/fp8attn.$$.err"
fail() { echo "FAIL: $*"; rm -f "$ERR"; exit 1; }
rel() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["outputs"]["image"]["rel_l2"])' "$1"; }

off=$("$P" check "$C" --precision fp8 2>/dev/null) || fail "fp8: $off"
on=$(PICTOR_FP8_ATTENTION=1 "$P" check "$C" --precision fp8 2>/dev/null) || fail "fp8 attention: $on"
[ "$(rel "$off")" != "$(rel "$on")" ] || fail "PICTOR_FP8_ATTENTION=1 changed nothing: $on"
zero=$(PICTOR_FP8_ATTENTION=0 "$P" check "$C" --precision fp8 2>/dev/null) || fail "0: $zero"
[ "$(rel "$zero")" = "$(rel "$off")" ] || fail "PICTOR_FP8_ATTENTION=0 is not the default: $zero"
bad=$(PICTOR_FP8_ATTENTION=yes "$P" check "$C" --precision fp8 2>"$ERR") ||
    fail "a bad value is ignored, not fatal: $bad"
grep -q "PICTOR_FP8_ATTENTION=yes is not 0 or 1" "$ERR" || fail "no message for a bad value: $(cat "$ERR")"
[ "$(rel "$bad")" = "$(rel "$off")" ] || fail "a bad value should mean off: $bad"
a=$("$P" check "$C" --precision bf16 2>/dev/null) || fail "bf16: $a"
b=$(PICTOR_FP8_ATTENTION=1 "$P" check "$C" --precision bf16 2>/dev/null) || fail "bf16: $b"
[ "$(rel "$a")" = "$(rel "$b")" ] || fail "bf16 precision changed by the FP8 attention switch"
rm -f "$ERR"
echo "PASS fp8_attention"
