"""Sampling and colour scoring shared by train.py (progress checks) and verify.py (the exported folder).

`euler_sample` is FluxPipeline's schnell loop written out for in-memory modules (FlowMatchEulerDiscreteScheduler
with shift 1: sigmas linspace(1, 1/steps, steps) then 0; x <- x + (sigma_next - sigma) * v). verify.py runs the real
FluxPipeline on the exported folder; both must agree that the colours land where the caption says.

`region_classes` is the Python twin of tests/tools/colour_regions.c: the mean colour of the centre region and of
each corner region, classified to the nearest palette colour (Euclidean distance in sRGB).
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import FluxPipeline

from config import REPO
from dataset import COLOURS

REGION_NUM, REGION_DEN = 3, 32  # region side = 3/32 of the shorter side (tests/tools/colour_regions.h)

# The semantic test's prompts: (prompt, centre colour, corner colour), as tests/scripts/demo_semantic.sh reads them.
TEST_PROMPTS = [tuple(line.split("\t")) for line in
                (REPO / "tests" / "tools" / "demo_prompts.tsv").read_text().splitlines()
                if line and not line.startswith("#")]


def pack(x: torch.Tensor) -> torch.Tensor:
    """[B, C, h, w] latents -> [B, h/2 * w/2, 4C] tokens, FluxPipeline's packing."""
    b, c, h, w = x.shape
    return FluxPipeline._pack_latents(x, b, c, h, w)


def unpack(tokens: torch.Tensor, c: int, h: int, w: int) -> torch.Tensor:
    b = tokens.shape[0]
    x = tokens.view(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, h, w)


def image_ids(h: int, w: int) -> torch.Tensor:
    return FluxPipeline._prepare_latent_image_ids(1, h // 2, w // 2, torch.device("cpu"), torch.float32)


def encode_text(clip, t5, clip_ids: torch.Tensor, t5_ids: torch.Tensor):
    """(T5 last_hidden_state [B, L, d], CLIP pooler_output [B, hidden]) as FluxPipeline.encode_prompt: no masks."""
    return t5(input_ids=t5_ids).last_hidden_state, clip(input_ids=clip_ids).pooler_output


@torch.no_grad()
def euler_sample(transformer, vae, prompt_embeds, pooled, noise: torch.Tensor, steps: int = 4) -> np.ndarray:
    """noise [B, C, h, w] -> uint8 images [B, H, W, 3] with the schnell schedule."""
    b, c, h, w = noise.shape
    x = pack(noise)
    sigmas = torch.linspace(1.0, 1.0 / steps, steps).tolist() + [0.0]
    txt_ids = torch.zeros(prompt_embeds.shape[1], 3)
    for i in range(steps):
        v = transformer(hidden_states=x, timestep=torch.full((b,), sigmas[i]), pooled_projections=pooled,
                        encoder_hidden_states=prompt_embeds, txt_ids=txt_ids, img_ids=image_ids(h, w),
                        return_dict=False)[0]
        x = x + (sigmas[i + 1] - sigmas[i]) * v
    z = unpack(x, c, h, w) / vae.config.scaling_factor + vae.config.shift_factor
    img = vae.decode(z).sample
    return ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def nearest(rgb) -> str:
    names = list(COLOURS)
    d = [sum((float(a) - b) ** 2 for a, b in zip(rgb, COLOURS[n])) for n in names]
    return names[int(np.argmin(d))]


def region_classes(img: np.ndarray) -> tuple[str, list[str]]:
    """(centre class, [top-left, top-right, bottom-left, bottom-right] classes) of a uint8 [H, W, 3] image."""
    h, w = img.shape[:2]
    r = min(h, w) * REGION_NUM // REGION_DEN
    cy, cx = h // 2 - r // 2, w // 2 - r // 2
    centre = img[cy:cy + r, cx:cx + r].reshape(-1, 3).mean(0)
    corners = [img[y:y + r, x:x + r].reshape(-1, 3).mean(0) for y in (0, h - r) for x in (0, w - r)]
    return nearest(centre), [nearest(c) for c in corners]


def prompt_passes(img: np.ndarray, shape_colour: str, background: str) -> bool:
    centre, corners = region_classes(img)
    return centre == shape_colour and all(c == background for c in corners)

