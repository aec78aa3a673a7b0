"""A structured starting point for the demo AutoencoderKL: before any training step, the encoder computes the mean
colour of each 16x16 cell into latent channels 0-2 and the decoder paints each cell in that colour, so the
autoencoder already works (blocky) and training only has to sharpen it.

Why: a 5-level AutoencoderKL from a random start spends its first thousands of steps learning to pass colour at
all: every GroupNorm removes the mean and scale of its group, so absolute colour only survives the residual paths,
and the decoder's last GroupNorm + SiLU must be learnt around. On 2 shared CPU cores that is more than the time
budget (README.md, "Autoencoder"). The construction, per network:

  * every ResnetBlock2D's conv2 and the mid-block attention's output projection are zero, so each block is its
    shortcut (identity, or the 1x1 conv_shortcut set to copy the first channels);
  * the trunk carries 8 channels: colour (R, G, B) and its negation, and a constant pair (+K, -K) from conv_in's
    bias. Each pair sums to zero, so the final single-group GroupNorm subtracts nothing (mean 0 exactly) and divides
    by sigma = sqrt(mean h^2), which the constant pair dominates (the colour part moves sigma by at most 1.5% for
    K = 10); SiLU(x) - SiLU(-x) = x exactly, so conv_out reads colour back linearly from the pair;
  * encoder: conv_in copies RGB into the pairs; each Downsample2D conv averages its 2x2 block (taps [0:2, 0:2], the
    zero padding on the bottom and right is never read); conv_out writes the colour into latent channels 0-2 and
    a log-variance of LOGVAR (std 0.02) everywhere;
  * decoder: conv_in copies latent channels 0-2 into the pairs; each Upsample2D conv is the identity (nearest 2x).

The remaining weights keep diffusers' random initialisation: they feed the zeroed convs, so gradients reach them
from the first step. The decoder's conv_in also reads latent channels 3-15 (zero at the start) through random
weights, so if the encoder is trained as well its rows for those channels get a gradient and can learn what the
cell averages miss (where an edge runs); with both sides zero they would stay dead. (train.py keeps the encoder
frozen: its latents are the transformer's training data.) Requires norm_num_groups 1 and at least 8
channels in every block.
"""

from __future__ import annotations

import torch

K = 10.0          # the constant pair's value: large against colours in [-1, 1]
LOGVAR = -8.0     # encoder log-variance at the start (posterior std e^-4 = 0.018)
TRUNK = 8         # channels the construction uses: R G B -R -G -B +K -K


def _zero(conv) -> None:
    conv.weight.zero_()
    if conv.bias is not None:
        conv.bias.zero_()


def _identity(conv, n: int, tap: tuple[int, int] | None = None) -> None:
    """conv copies its first n input channels to its first n outputs (at the kernel centre, or at `tap`)."""
    _zero(conv)
    kh, kw = conv.weight.shape[2:]
    y, x = tap if tap else (kh // 2, kw // 2)
    for k in range(n):
        conv.weight[k, k, y, x] = 1.0


def _pairs_in(conv, src: int, zero_rest: bool) -> None:
    """conv writes channels (c, -c) for c of its first `src` inputs, then the constant pair (+K, -K), into its
    first TRUNK outputs; the other outputs are zeroed (zero_rest) or keep their random weights."""
    if zero_rest:
        _zero(conv)
    else:
        conv.weight[:TRUNK].zero_()
        conv.bias[:TRUNK].zero_()
    kh, kw = conv.weight.shape[2:]
    for k in range(src):
        conv.weight[k, k, kh // 2, kw // 2] = 1.0
        conv.weight[k + 3, k, kh // 2, kw // 2] = -1.0
    conv.bias[6], conv.bias[7] = K, -K


def _pairs_out(conv, channels: int) -> None:
    """conv reads c back from SiLU(GroupNorm) of the pairs: sigma0 * (SiLU(c/sigma) - SiLU(-c/sigma)) = c."""
    _zero(conv)
    sigma0 = (2 * K * K / channels) ** 0.5
    kh, kw = conv.weight.shape[2:]
    for k in range(3):
        conv.weight[k, k, kh // 2, kw // 2] = sigma0
        conv.weight[k, k + 3, kh // 2, kw // 2] = -sigma0


def _blocks(net) -> None:
    for m in net.modules():
        name = type(m).__name__
        if name == "ResnetBlock2D":
            _zero(m.conv2)
            if m.conv_shortcut is not None:
                _identity(m.conv_shortcut, TRUNK)
        elif name == "Attention":
            _zero(m.to_out[0])


@torch.no_grad()
def structured_init_(vae) -> None:
    cfg = vae.config
    if cfg.norm_num_groups != 1 or min(cfg.block_out_channels) < TRUNK or cfg.latent_channels < 3:
        raise ValueError("structured_init_ needs norm_num_groups 1, >= 8 channels per block, >= 3 latent channels")
    enc, dec = vae.encoder, vae.decoder
    _blocks(enc)
    _blocks(dec)
    _pairs_in(enc.conv_in, 3, zero_rest=True)  # the encoder's last GroupNorm sees every channel
    for blk in enc.down_blocks:
        for ds in blk.downsamplers or []:
            _zero(ds.conv)
            for k in range(ds.conv.weight.shape[0]):
                ds.conv.weight[k, k, 0:2, 0:2] = 0.25
    _pairs_out(enc.conv_out, cfg.block_out_channels[-1])
    enc.conv_out.bias[cfg.latent_channels:] = LOGVAR
    _pairs_in(dec.conv_in, 3, zero_rest=False)  # free features; shortcuts drop them before the last norm
    for blk in dec.up_blocks:
        for us in blk.upsamplers or []:
            _identity(us.conv, us.conv.weight.shape[0])
    _pairs_out(dec.conv_out, cfg.block_out_channels[0])
