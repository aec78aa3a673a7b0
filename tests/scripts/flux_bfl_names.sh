#!/bin/bash
# tests/scripts/flux_bfl_names.sh — a FLUX transformer stored with the
# original BFL key names (MODELS.md §4.2) inside an otherwise diffusers
# folder. The pipeline_flux_schnell case is copied, its transformer file is
# rewritten into BFL names by a pure-Python safetensors rewriter (q,k,v rows
# concatenated into img_attn.qkv / txt_attn.qkv, q,k,v,mlp into linear1,
# norm_out halves swapped into final_layer.adaLN_modulation.1, the rest
# renamed; f32 kept) and the diffusers file deleted. `pictor check` on the
# copy must print exactly what it prints on the original case (same
# numbers). A BFL file lacking one mapped source tensor must fail with a
# message naming that BFL tensor.
# PICTOR_BFL_NO_SWAP=1 leaves the norm_out halves unswapped (a hand check
# that the comparison notices a wrong mapping: the test must then fail).
set -u
B=${PICTOR_BUILD:-build}
P="$B/bin/pictor"
export PICTOR_PLUGIN_DIR="$B/lib/pictor/plugins"
CASE=tests/fixtures/pipeline_flux_schnell
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# to_bfl SRC DST [DROP_BFL_NAME]
to_bfl() {
    python3 - "$@" <<'PY'
import json, os, re, struct, sys
src, dst = sys.argv[1], sys.argv[2]
drop = sys.argv[3] if len(sys.argv) > 3 else None
no_swap = os.environ.get("PICTOR_BFL_NO_SWAP") == "1"
raw = open(src, "rb").read()
n, = struct.unpack("<Q", raw[:8])
hdr = json.loads(raw[8:8 + n]); base = 8 + n
hdr.pop("__metadata__", None)
def data(name):
    a, b = hdr[name]["data_offsets"]; return raw[base + a:base + b]
TOP = [("x_embedder.", "img_in."), ("context_embedder.", "txt_in."),
       ("time_text_embed.timestep_embedder.linear_1.", "time_in.in_layer."),
       ("time_text_embed.timestep_embedder.linear_2.", "time_in.out_layer."),
       ("time_text_embed.text_embedder.linear_1.", "vector_in.in_layer."),
       ("time_text_embed.text_embedder.linear_2.", "vector_in.out_layer."),
       ("time_text_embed.guidance_embedder.linear_1.", "guidance_in.in_layer."),
       ("time_text_embed.guidance_embedder.linear_2.", "guidance_in.out_layer."),
       ("proj_out.", "final_layer.linear.")]
DBL = {"norm1.linear": ("img_mod.lin", 0), "norm1_context.linear": ("txt_mod.lin", 0),
       "attn.to_q": ("img_attn.qkv", 0), "attn.to_k": ("img_attn.qkv", 1),
       "attn.to_v": ("img_attn.qkv", 2), "attn.add_q_proj": ("txt_attn.qkv", 0),
       "attn.add_k_proj": ("txt_attn.qkv", 1), "attn.add_v_proj": ("txt_attn.qkv", 2),
       "attn.to_out.0": ("img_attn.proj", 0), "attn.to_add_out": ("txt_attn.proj", 0),
       "ff.net.0.proj": ("img_mlp.0", 0), "ff.net.2": ("img_mlp.2", 0),
       "ff_context.net.0.proj": ("txt_mlp.0", 0), "ff_context.net.2": ("txt_mlp.2", 0)}
SGL = {"norm.linear": ("modulation.lin", 0), "attn.to_q": ("linear1", 0),
       "attn.to_k": ("linear1", 1), "attn.to_v": ("linear1", 2),
       "proj_mlp": ("linear1", 3), "proj_out": ("linear2", 0)}
NORMS = {"attn.norm_q.weight": "img_attn.norm.query_norm.scale",
         "attn.norm_k.weight": "img_attn.norm.key_norm.scale",
         "attn.norm_added_q.weight": "txt_attn.norm.query_norm.scale",
         "attn.norm_added_k.weight": "txt_attn.norm.key_norm.scale"}
SNORMS = {"attn.norm_q.weight": "norm.query_norm.scale",
          "attn.norm_k.weight": "norm.key_norm.scale"}
parts = {}  # bfl name -> {part: diffusers name}
for name in hdr:
    m = re.match(r"(single_)?transformer_blocks\.(\d+)\.(.*)\.(weight|bias)$", name)
    if m:
        single, i, mid, leaf = m.groups()
        norms, lins, pre = (SNORMS, SGL, "single_blocks.") if single else (NORMS, DBL, "double_blocks.")
        if mid + "." + leaf in norms:
            bfl, part = norms[mid + "." + leaf], 0
        else:
            bfl, part = lins[mid][0] + "." + leaf, lins[mid][1]
        bfl = pre + i + "." + bfl
    elif name.startswith("norm_out.linear."):
        bfl, part = "final_layer.adaLN_modulation.1." + name.split(".")[-1], 0
    else:
        bfl = next(b + name[len(d):] for d, b in TOP if name.startswith(d)); part = 0
    parts.setdefault(bfl, {})[part] = name
out_hdr, blobs, off = {}, [], 0
for bfl in sorted(parts):
    if bfl == drop:
        continue
    names = [parts[bfl][k] for k in sorted(parts[bfl])]
    blob = b"".join(data(x) for x in names)
    shape = list(hdr[names[0]]["shape"]); shape[0] = sum(hdr[x]["shape"][0] for x in names)
    if bfl.startswith("final_layer.adaLN_modulation.1.") and not no_swap:
        blob = blob[len(blob) // 2:] + blob[:len(blob) // 2]
    out_hdr[bfl] = {"dtype": hdr[names[0]]["dtype"], "shape": shape,
                    "data_offsets": [off, off + len(blob)]}
    blobs.append(blob); off += len(blob)
h = json.dumps(out_hdr, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
}

DIT=diffusion_pytorch_model.safetensors
make_case() { # NAME [DROP]
    cp -r "$CASE" "$T/$1" || fail "copy"
    to_bfl "$CASE/model/transformer/$DIT" "$T/$1/model/transformer/$DIT.bfl" "${2:-}" \
        || fail "BFL rewrite"
    rm "$T/$1/model/transformer/$DIT"
    # the folder reader looks for the diffusers file name; the keys are BFL
    mv "$T/$1/model/transformer/$DIT.bfl" "$T/$1/model/transformer/$DIT"
}

"$P" check "$CASE" > "$T/want.json" 2> "$T/want.err" || fail "original case: $(cat "$T/want.err")"
make_case bfl
python3 -c "
import json, struct, sys
raw = open(sys.argv[1], 'rb').read(); n, = struct.unpack('<Q', raw[:8])
h = json.loads(raw[8:8 + n])
assert h['double_blocks.0.img_attn.qkv.weight']['shape'] == [96, 32], h
assert h['single_blocks.1.linear1.bias']['shape'] == [224], h
assert not any(k.startswith('transformer_blocks') for k in h), list(h)
" "$T/bfl/model/transformer/$DIT" || fail "rewritten file is not in BFL layout"
"$P" check "$T/bfl" > "$T/got.json" 2> "$T/got.err" || fail "BFL case: $(cat "$T/got.json" "$T/got.err")"
sed 's/"case":"[^"]*"//' "$T/want.json" > "$T/want.n"
sed 's/"case":"[^"]*"//' "$T/got.json" > "$T/got.n"
cmp -s "$T/want.n" "$T/got.n" || fail "BFL-named transformer differs: $(cat "$T/got.json") vs $(cat "$T/want.json")"

# one mapped source tensor missing: the message names it
for drop in double_blocks.1.txt_attn.qkv.weight single_blocks.0.linear1.bias \
            final_layer.adaLN_modulation.1.weight single_blocks.1.norm.key_norm.scale; do
    rm -rf "$T/drop"
    make_case drop "$drop"
    if "$P" check "$T/drop" > "$T/d.out" 2>&1; then fail "accepted without $drop"; fi
    grep -qF "'$drop'" "$T/d.out" || fail "message without '$drop': $(cat "$T/d.out")"
done
echo "ok"
