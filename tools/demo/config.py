"""The demo model's architecture and the names shared by the demo tools (dataset.py, train.py, export.py).

Every network is the real diffusers / transformers class that FLUX.1-schnell ships, in a tiny configuration sized
so that a 256x256 image takes well under 3 s on 2 CPU cores in pictor's fp32 CPU backend (README.md, "Sizing").
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tools" / "fixtures"))  # the fixture generator's building blocks (families.*)

from families import pipelines as fx_pipelines  # noqa: E402
from families import schedulers as fx_schedulers  # noqa: E402
from families import vae as fx_vae  # noqa: E402

SEED = 20240601            # the one seed every random choice of the demo tools derives from
T5_LEN = 256               # max_sequence_length pictor's flux plugin uses for schnell (plugins/flux/flux_open.c)
LATENT_CHANNELS = 16       # as FLUX.1 (the transformer takes 4 x 16 = 64 packed channels)

# AutoencoderKL: 5 blocks -> vae_scale_factor 2^4 = 16, so a 256x256 image is a 16x16x16 latent and 8x8 = 64 packed
# image tokens. Narrow at full resolution (the decoder's cost there dominates; flat shapes need little width).
# One group per GroupNorm and >= 8 channels per block: what vae_init.structured_init_ needs.
VAE_BLOCKS = [8, 16, 32, 64, 64]
VAE_LAYERS_PER_BLOCK = 1
VAE_GROUPS = 1

# FluxTransformer2DModel, schnell variant (no guidance embedder): 3 heads of 32 (rotary axes 8 + 12 + 12 = 32),
# 2 double-stream + 2 single-stream blocks, hidden 96.
TRANSFORMER = dict(patch_size=1, in_channels=4 * LATENT_CHANNELS, out_channels=None, num_layers=2,
                   num_single_layers=2, attention_head_dim=32, num_attention_heads=3, joint_attention_dim=64,
                   pooled_projection_dim=64, guidance_embeds=False, axes_dims_rope=[8, 12, 12])

# Text encoders: CLIP-L style (quick_gelu, legacy token ids, pooled at the first <|endoftext|>) and T5 v1.1 style
# (gated-gelu), both with the fixture generator's small tokenizers (CLIP BPE cut to its first 500 merges; a
# SentencePiece unigram of 1200 pieces). Both are trained together with the transformer (train.py); T5 without
# dropout.
CLIP = fx_pipelines._clip_config(hidden=64, heads=4, layers=2)
T5 = dict(fx_pipelines._t5_config(d_model=64, layers=2), d_kv=16, num_heads=4, d_ff=128, dropout_rate=0.0)

SCHEDULER = dict(fx_schedulers.FLUX_SCHNELL)  # FlowMatchEulerDiscreteScheduler, shift 1, no dynamic shifting


def vae_config(scaling_factor: float = 1.0, shift_factor: float = 0.0) -> dict:
    """AutoencoderKL kwargs (FLUX layout: no quant convs, scaling and shift factors set from the trained latents)."""
    return fx_vae._config(LATENT_CHANNELS, VAE_BLOCKS, VAE_LAYERS_PER_BLOCK, VAE_GROUPS, scaling_factor,
                          shift_factor, quant=False)


def write_tokenizers(model_dir: Path) -> None:
    """tokenizer/ (CLIP) and tokenizer_2/ (T5) exactly as the fixture pipelines write them."""
    import shutil

    for sub in ("tokenizer", "tokenizer_2"):
        shutil.rmtree(Path(model_dir) / sub, ignore_errors=True)
    fx_pipelines.write_small_clip_tokenizer(Path(model_dir) / "tokenizer")
    fx_pipelines.tok_family.write_t5_folder(Path(model_dir) / "tokenizer_2", with_json=True)


def setup_quiet() -> None:
    """Silence diffusers' and transformers' info and progress output."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()


def load_tokenizers(model_dir: Path):
    from transformers import CLIPTokenizer, T5TokenizerFast

    return (CLIPTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer")),
            T5TokenizerFast.from_pretrained(str(Path(model_dir) / "tokenizer_2")))


__all__ = ["SEED", "T5_LEN", "LATENT_CHANNELS", "TRANSFORMER", "CLIP", "T5", "SCHEDULER",
           "vae_config", "write_tokenizers", "load_tokenizers", "setup_quiet", "REPO"]
