#!/usr/bin/env python3
"""Write the trained demo model as a diffusers FluxPipeline folder (what `FluxPipeline.save_pretrained` writes).

    export.py [--train DIR] [--out models/demo]

Reads DIR/vae.pt, DIR/latents.pt and DIR/dit.pt (train.py), writes OUT/{model_index.json, scheduler/, text_encoder/,
text_encoder_2/, tokenizer/, tokenizer_2/, transformer/, vae/} in float32 safetensors, plus OUT/training.json (what
was trained how long, final losses, sizes). Fails if the folder exceeds MAX_BYTES.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import config as C  # noqa: E402
import train as T  # noqa: E402

MAX_BYTES = 25 * 1000 * 1000  # issue 6: the committed weights and tokenizer files stay under 25 MB


def dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())


def build_pipeline(train_dir: Path):
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline

    data = torch.load(train_dir / "latents.pt")
    ck = torch.load(train_dir / "dit.pt")
    vae = T.load_vae(train_dir, data["scale"], data["shift"], name=T.best_vae_file(train_dir))
    dit, clip, t5 = T.make_dit_models()
    dit.load_state_dict(ck["dit"])
    clip.load_state_dict(ck["clip"])
    t5.load_state_dict(ck["t5"])
    with tempfile.TemporaryDirectory() as tmp:
        C.write_tokenizers(Path(tmp))
        tok, tok2 = C.load_tokenizers(Path(tmp))
    pipe = FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler.from_config(C.SCHEDULER), vae=vae,
                        text_encoder=clip.eval(), tokenizer=tok, text_encoder_2=t5.eval(), tokenizer_2=tok2,
                        transformer=dit.eval())
    return pipe, data, ck


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=Path, default=Path("/tmp/demo-train"))
    ap.add_argument("--out", type=Path, default=C.REPO / "models" / "demo")
    a = ap.parse_args()
    C.setup_quiet()
    pipe, data, ck = build_pipeline(a.train)
    keep = [p for p in ("README.md",) if (a.out / p).exists()]
    saved = {p: (a.out / p).read_bytes() for p in keep}
    if a.out.exists():
        shutil.rmtree(a.out)
    C.fx_pipelines.save_pipeline(pipe, a.out)  # save_pretrained + the FLUX.1 tokenizer folder layout
    for p, b in saved.items():
        (a.out / p).write_bytes(b)
    vae_file = T.best_vae_file(a.train)
    vae_ck = torch.load(a.train / vae_file)
    init_psnr = torch.load(a.train / "vae-init.pt")["psnr"]
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in
              (("transformer", pipe.transformer), ("vae", pipe.vae), ("text_encoder", pipe.text_encoder),
               ("text_encoder_2", pipe.text_encoder_2))}
    info = {
        "seed": C.SEED,
        "parameters": params,
        "vae": {"exported": vae_file, "decoder_steps": vae_ck["steps"], "seconds": round(vae_ck["seconds"]),
                "final_reconstruction_loss": (round(vae_ck["rec_loss"], 5) if vae_ck["steps"] else None),
                "held_out_psnr_db": round(vae_ck["psnr"], 2), "structured_start_psnr_db": round(init_psnr, 2),
                "scaling_factor": data["scale"], "shift_factor": data["shift"]},
        "transformer": {"steps": ck["step"], "seconds": round(ck["seconds"]),
                        "final_flow_matching_loss": round(ck["loss"], 5), "test_prompt_colour_score": ck["check"]},
        "torch": torch.__version__,
    }
    (a.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    size = dir_bytes(a.out)
    print(f"{a.out}: {size / 1e6:.2f} MB; parameters {params}")
    if size > MAX_BYTES:
        raise SystemExit(f"{a.out} is {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB budget")


if __name__ == "__main__":
    main()
