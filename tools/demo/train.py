#!/usr/bin/env python3
"""Train pictor's demo model on CPU (see README.md for the data, the hyper-parameters and measured times).

    train.py [--out DIR] [--stage all|init|latents|vae|dit] [--threads N] [--smoke]

Stages (each writes one file under --out, default /tmp/demo-train; later stages read earlier ones):
    init     the structured AutoencoderKL (vae_init.py)                                        -> vae-init.pt
    latents  every caption drawn LATENT_VARIANTS times, encoded by that encoder (posterior mean); the scaling and
             shift factors that give the latents unit variance and zero mean; the captions' token ids  -> latents.pt
    vae      the decoder trained on the frozen encoder's latents (needs init only)             -> vae.pt
    dit      FluxTransformer2DModel + CLIPTextModel + T5EncoderModel, rectified flow on the latents  -> dit.pt
`vae` and `dit` are independent and may run side by side. Then export.py writes the diffusers folder. Everything is
seeded from config.SEED; README.md gives the measured times (about 22 minutes on 2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import config as C  # noqa: E402
import dataset as D  # noqa: E402
import sample as S  # noqa: E402
import vae_init  # noqa: E402

# ---- hyper-parameters (README.md explains the choices) ------------------------------------------------------------
VAE_POOL = 600               # distinct decoder training images (vae_image), random crops and flips of them
VAE_HELD_OUT = 8             # images the PSNR is measured on (drawn from another seed)
VAE_CROP, VAE_BATCH, VAE_STEPS = 128, 8, 1500
VAE_LR, VAE_LR_END = 1e-3, 1e-4
LATENT_VARIANTS = 4          # drawings (jitter) per caption for the transformer's training set
DIT_BATCH, DIT_STEPS = 16, 1500
DIT_LR, DIT_LR_END, DIT_WARMUP = 1e-3, 5e-5, 50
SCHNELL_SIGMAS = (1.0, 0.75, 0.5, 0.25)  # the 4-step schnell schedule (shift 1): sampled with extra weight
SCHNELL_SHARE = 0.6          # share of training sigmas drawn from SCHNELL_SIGMAS (the rest uniform in (0, 1])
CHECK_EVERY = 500


def log(out: Path, msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    with open(out / "train.log", "a") as f:
        f.write(line + "\n")


def lr_at(step: int, steps: int, lr: float, lr_end: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay from lr to lr_end."""
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return lr_end + 0.5 * (lr - lr_end) * (1 + math.cos(math.pi * p))


def to_unit(img_u8: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float [..., 3, H, W] in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(img_u8)).float() / 127.5 - 1.0
    return t.movedim(-1, -3)


# ---- the autoencoder ---------------------------------------------------------------------------------------------

def init_vae(out: Path) -> None:
    """The structured autoencoder (vae_init.py): its encoder is final, its decoder the starting point of `vae`."""
    from diffusers import AutoencoderKL

    torch.manual_seed(C.SEED)
    vae = AutoencoderKL(**C.vae_config())
    vae_init.structured_init_(vae)
    held = held_out()
    psnr = vae_psnr(vae, held)
    torch.save({"state": vae.state_dict(), "seconds": 0.0, "rec_loss": float("nan"), "psnr": psnr, "steps": 0},
               out / "vae-init.pt")
    log(out, f"vae init: held-out 256px PSNR {psnr:.1f} dB")


def held_out() -> torch.Tensor:
    rng = random.Random(C.SEED + 5)
    return to_unit(np.stack([D.vae_image(rng) for _ in range(VAE_HELD_OUT)]))


@torch.no_grad()
def vae_psnr(vae, x: torch.Tensor) -> float:
    y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
    return 10 * math.log10(1 / ((y - x) / 2).pow(2).mean().item())  # images in [0, 1] units


def train_vae(out: Path) -> None:
    """Trains the decoder on the frozen structured encoder's latents (posterior samples)."""
    torch.manual_seed(C.SEED + 1)
    rng = random.Random(C.SEED + 1)
    t0 = time.time()
    pool = np.stack([D.vae_image(rng) for _ in range(VAE_POOL)])  # [N, 256, 256, 3] uint8
    held = held_out()
    log(out, f"vae: {VAE_POOL} training images drawn in {time.time() - t0:.1f} s")
    vae = load_vae(out, name="vae-init.pt")
    vae.encoder.requires_grad_(False)
    params = list(vae.decoder.parameters())
    opt = torch.optim.AdamW(params, lr=VAE_LR, weight_decay=0.0)
    g = np.random.default_rng(C.SEED + 1)
    t0, run, psnr = time.time(), 0.0, vae_psnr(vae, held)
    for step in range(VAE_STEPS):
        idx = g.integers(0, VAE_POOL, VAE_BATCH)
        oy, ox = g.integers(0, D.SIZE // 16 - VAE_CROP // 16 + 1, 2) * 16  # crops on the 16-px cell grid
        x = pool[idx, oy:oy + VAE_CROP, ox:ox + VAE_CROP]
        if g.random() < 0.5:
            x = x[:, :, ::-1]
        if g.random() < 0.5:
            x = x[:, ::-1]
        x = to_unit(x)
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, VAE_STEPS, VAE_LR, VAE_LR_END, 20)
        with torch.no_grad():
            z = vae.encode(x).latent_dist.sample()
        y = vae.decode(z).sample
        rec = (y - x).abs().mean() + (y - x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        rec.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run = rec.item() if step == 0 else 0.95 * run + 0.05 * rec.item()
        if step % 100 == 99 or step == VAE_STEPS - 1:
            psnr = vae_psnr(vae, held)
            log(out, f"vae step {step + 1}/{VAE_STEPS} rec {run:.4f} held-out 256px PSNR {psnr:.1f} dB  "
                     f"{time.time() - t0:.0f} s")
    torch.save({"state": vae.state_dict(), "seconds": time.time() - t0, "rec_loss": run, "psnr": psnr,
                "steps": VAE_STEPS}, out / "vae.pt")


def best_vae_file(out: Path) -> str:
    """vae.pt when its decoder beats the structured start on the held-out images, else vae-init.pt."""
    if not (out / "vae.pt").exists():
        return "vae-init.pt"
    return "vae.pt" if torch.load(out / "vae.pt")["psnr"] > torch.load(out / "vae-init.pt")["psnr"] else \
        "vae-init.pt"


def load_vae(out: Path, scaling: float = 1.0, shift: float = 0.0, name: str = "vae-init.pt"):
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(**C.vae_config(scaling, shift))
    vae.load_state_dict(torch.load(out / name)["state"])
    return vae.eval()


# ---- stage 2: latents and token ids ------------------------------------------------------------------------------

@torch.no_grad()
def make_latents(out: Path) -> None:
    torch.manual_seed(C.SEED + 2)
    rng = random.Random(C.SEED + 2)
    vae = load_vae(out)  # the structured encoder (the decoder is not used here)
    caps = D.all_captions()
    t0 = time.time()
    lat = []
    for v in range(LATENT_VARIANTS):
        imgs = to_unit(np.stack([D.caption_image(a, rng) for _, a in caps]))
        for i in range(0, len(caps), 64):
            lat.append(vae.encode(imgs[i:i + 64]).latent_dist.mode())
    lat = torch.cat(lat).view(LATENT_VARIANTS, len(caps), C.LATENT_CHANNELS, D.SIZE // 16, D.SIZE // 16)
    shift, scale = lat.mean().item(), 1.0 / lat.std().item()
    C.write_tokenizers(out / "tok")
    clip_tok, t5_tok = C.load_tokenizers(out / "tok")
    texts = [t for t, _ in caps]
    clip_ids = clip_tok(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    t5_ids = t5_tok(texts, padding="max_length", max_length=C.T5_LEN, truncation=True,
                    return_tensors="pt").input_ids
    assert len({tuple(r) for r in t5_ids.tolist()}) == len(texts), "two captions tokenise alike (T5)"
    assert len({tuple(r) for r in clip_ids.tolist()}) == len(texts), "two captions tokenise alike (CLIP)"
    torch.save({"latents": lat, "shift": shift, "scale": scale, "texts": texts, "clip_ids": clip_ids,
                "t5_ids": t5_ids}, out / "latents.pt")
    log(out, f"latents: {tuple(lat.shape)} in {time.time() - t0:.0f} s; shift_factor {shift:.4f} "
             f"scaling_factor {scale:.4f}")


# ---- stage 3: transformer and text encoders ----------------------------------------------------------------------

def make_dit_models():
    from diffusers import FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(C.SEED + 3)
    return (FluxTransformer2DModel(**C.TRANSFORMER), CLIPTextModel(CLIPTextConfig(**C.CLIP)),
            T5EncoderModel(T5Config(**C.T5)))


def sigmas_for(bs: int, g: torch.Generator) -> torch.Tensor:
    pick = torch.randint(0, len(SCHNELL_SIGMAS), (bs,), generator=g)
    fixed = torch.tensor(SCHNELL_SIGMAS)[pick]
    uniform = 1.0 - torch.rand(bs, generator=g)  # (0, 1]
    return torch.where(torch.rand(bs, generator=g) < SCHNELL_SHARE, fixed, uniform)


@torch.no_grad()
def check(out: Path, models, vae, data, step: int) -> float:
    """4-step samples of the test prompts at 2 seeds; share whose centre and corners have the named colours."""
    dit, clip, t5 = models
    for m in models:
        m.eval()
    texts = data["texts"]
    ok, total = 0, 0
    for seed in (1, 2):
        rows = []
        for p, _, _ in S.TEST_PROMPTS:
            i = texts.index(p)
            rows.append(i)
        emb, pooled = S.encode_text(clip, t5, data["clip_ids"][rows], data["t5_ids"][rows])
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn(len(rows), C.LATENT_CHANNELS, D.SIZE // 16, D.SIZE // 16, generator=g)
        imgs = S.euler_sample(dit, vae, emb, pooled, noise)
        for img, (_, colour, bg) in zip(imgs, S.TEST_PROMPTS):
            ok += S.prompt_passes(img, colour, bg)
            total += 1
        if seed == 1:
            from PIL import Image

            Image.fromarray(np.concatenate(list(imgs), axis=1)).save(out / f"check-{step:05d}.png")
    for m in models:
        m.train()
    log(out, f"dit check at step {step}: {ok}/{total} test prompts have the named colours")
    return ok / total


def train_dit(out: Path) -> None:
    data = torch.load(out / "latents.pt")
    vae = load_vae(out, data["scale"], data["shift"])  # the structured decoder: checks need colours only
    models = make_dit_models()
    dit, clip, t5 = models
    params = [p for m in models for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=DIT_LR, weight_decay=0.0)
    g = torch.Generator().manual_seed(C.SEED + 4)
    lat = (data["latents"] - data["shift"]) * data["scale"]  # [V, N, C, h, w], unit variance
    V, N, _, h, w = lat.shape
    img_ids, txt_ids = S.image_ids(h, w), torch.zeros(C.T5_LEN, 3)
    t0, run, history = time.time(), None, []
    for step in range(DIT_STEPS):
        n = torch.randint(0, N, (DIT_BATCH,), generator=g)
        v = torch.randint(0, V, (DIT_BATCH,), generator=g)
        x0 = S.pack(lat[v, n])
        noise = torch.randn(x0.shape, generator=g)
        sig = sigmas_for(DIT_BATCH, g)
        xt = (1 - sig[:, None, None]) * x0 + sig[:, None, None] * noise
        emb, pooled = S.encode_text(clip, t5, data["clip_ids"][n], data["t5_ids"][n])
        pred = dit(hidden_states=xt, timestep=sig, pooled_projections=pooled, encoder_hidden_states=emb,
                   txt_ids=txt_ids, img_ids=img_ids, return_dict=False)[0]
        loss = (pred - (noise - x0)).pow(2).mean()
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, DIT_STEPS, DIT_LR, DIT_LR_END, DIT_WARMUP)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        if step % 50 == 49:
            log(out, f"dit step {step + 1}/{DIT_STEPS} loss {run:.4f}  {time.time() - t0:.0f} s")
            history.append((step + 1, run))
        if (step + 1) % CHECK_EVERY == 0 or step == DIT_STEPS - 1:
            score = check(out, models, vae, data, step + 1)
            torch.save({"dit": dit.state_dict(), "clip": clip.state_dict(), "t5": t5.state_dict(),
                        "step": step + 1, "loss": run, "check": score, "seconds": time.time() - t0,
                        "history": history}, out / "dit.pt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/demo-train"))
    ap.add_argument("--stage", choices=["all", "init", "latents", "vae", "dit"], default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="a few steps of each stage (checks the plumbing only)")
    a = ap.parse_args()
    if a.smoke:
        global VAE_POOL, VAE_STEPS, LATENT_VARIANTS, DIT_STEPS, CHECK_EVERY
        VAE_POOL, VAE_STEPS, LATENT_VARIANTS, DIT_STEPS, CHECK_EVERY = 8, 3, 1, 3, 3
    a.out.mkdir(parents=True, exist_ok=True)
    C.setup_quiet()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    stages = ["init", "latents", "vae", "dit"] if a.stage == "all" else [a.stage]
    for s in stages:
        ts = time.time()
        {"init": init_vae, "latents": make_latents, "vae": train_vae, "dit": train_dit}[s](a.out)
        log(a.out, f"stage {s} done in {time.time() - ts:.0f} s")
    info = {"stages": stages, "seconds": round(time.time() - t0), "threads": a.threads,
            "torch": torch.__version__}
    (a.out / f"train-{a.stage}.json").write_text(json.dumps(info, indent=2) + "\n")
    log(a.out, f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
