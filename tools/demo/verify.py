#!/usr/bin/env python3
"""Check an exported demo folder with diffusers' own FluxPipeline, and optionally against pictor's C pipeline.

    verify.py [--model models/demo] [--seeds 1 2 3] [--pictor build/bin/pictor] [--grid out.png]

1. FluxPipeline.from_pretrained(model) draws every prompt of tests/tools/demo_prompts.tsv at 256x256 with pictor's
   default 4 steps, generator torch.Generator("cpu").manual_seed(seed) and max_sequence_length 256 (what pictor
   uses for schnell); each picture must have the named colours in the centre and the corners (sample.py), and at
   least 7 of the 8 prompts per seed must pass.
2. With --pictor, `pictor generate` draws the same prompt and seed (pictor's noise is torch's CPU generator, so the
   starting latents are the same): the two pictures must agree to a few 8-bit levels (fp32 on both sides; the mean
   absolute difference and the largest one are printed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import config as C  # noqa: E402
import sample as S  # noqa: E402

MIN_PASS = 7
STEPS = 4            # schnell's default in pictor (FluxPipeline's own default is 28)
MAX_MEAN_DIFF = 1.0  # 8-bit levels: diffusers vs pictor, mean over the picture
MAX_ABS_DIFF = 16    # 8-bit levels: the largest single difference (rounding at shape edges)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=C.REPO / "models" / "demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--pictor", type=Path)
    ap.add_argument("--grid", type=Path, help="write all pictures as one PNG (rows: prompts, columns: seeds)")
    a = ap.parse_args()
    C.setup_quiet()
    torch.set_num_threads(2)
    from diffusers import FluxPipeline

    pipe = FluxPipeline.from_pretrained(str(a.model))
    pipe.set_progress_bar_config(disable=True)
    ok = True
    rows = []
    for prompt, colour, bg in S.TEST_PROMPTS:
        row = []
        verdicts = []
        for seed in a.seeds:
            with torch.no_grad():
                img = pipe(prompt, height=256, width=256, num_inference_steps=STEPS, guidance_scale=0.0,
                           max_sequence_length=C.T5_LEN,
                           generator=torch.Generator("cpu").manual_seed(seed), output_type="np").images[0]
            img = (img * 255).round().astype(np.uint8)
            row.append(img)
            centre, corners = S.region_classes(img)
            v = "PASS" if S.prompt_passes(img, colour, bg) else f"FAIL({centre}/{','.join(corners)})"
            if a.pictor:
                with tempfile.TemporaryDirectory() as tmp:
                    out = Path(tmp) / "p.png"
                    subprocess.run([str(a.pictor), "generate", "--model", str(a.model), "--prompt", prompt,
                                    "--size", "256x256", "--seed", str(seed), "-o", str(out)], check=True,
                                   capture_output=True)
                    c = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
                d = np.abs(c - img.astype(np.int16))
                v += f" C-vs-diffusers mean {d.mean():.3f} max {d.max()}"
                if d.mean() > MAX_MEAN_DIFF or d.max() > MAX_ABS_DIFF:
                    ok = False
                    v += " MISMATCH"
            verdicts.append(v)
        rows.append(row)
        print(f"{prompt:44s} " + " | ".join(verdicts))
    for j, seed in enumerate(a.seeds):
        n = sum(S.prompt_passes(rows[i][j], c, b) for i, (_, c, b) in enumerate(S.TEST_PROMPTS))
        print(f"seed {seed}: {n}/{len(S.TEST_PROMPTS)} prompts have the named colours")
        ok &= n >= MIN_PASS
    if a.grid:
        Image.fromarray(np.concatenate([np.concatenate(r, axis=1) for r in rows], axis=0)).save(a.grid)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
