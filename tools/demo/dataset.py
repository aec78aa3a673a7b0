"""The demo model's synthetic captioned data set: one coloured shape on a plain coloured background.

    caption  "a [small |large ]COLOUR SHAPE on a BACKGROUND background"   ("an orange ...": English article)
    image    256x256 RGB, the shape centred (a caption that names no position means centred), drawn 4x
             supersampled then box-filtered (anti-aliased edges)

Vocabulary: 4 shapes x 8 colours x 7 other background colours x 3 sizes = 672 captions. Each drawing has a little
seeded jitter so one caption is a small distribution, not a single picture: the centre moves by up to
JITTER_PX pixels each way and squares, triangles and stars turn by up to JITTER_DEG degrees.

Geometry (R = the size's radius in pixels, the shape centred on the image centre):
    circle    radius 0.8 R                    square    half-side 0.72 R
    triangle  equilateral, circumradius R,    star      5 points, outer radius R, inner 0.5 R, a point up
              centroid at the centre, a point up
Small R = 48 keeps a 24x24 centre region inside every shape (the triangle's inradius is R/2 = 24, the star's
inner pentagon's is 0.5 R cos 36 deg = 19.4 > 12 sqrt 2); large R = 100 keeps every shape out of 24x24 corners.

`vae_image(rng)` draws the wider distribution the autoencoder is trained on: the same shapes, also off-centre.
All randomness comes from a `random.Random` the caller seeds, so the data is reproducible.
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageDraw

SIZE = 256
SUPERSAMPLE = 4
JITTER_PX = 6
JITTER_DEG = 10.0

# The demo palette (sRGB). tests/tools/colour_regions.c classifies pictures against the same values.
COLOURS = {
    "red": (215, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 210),
    "yellow": (240, 210, 40),
    "white": (240, 240, 240),
    "black": (20, 20, 20),
    "orange": (240, 140, 30),
    "purple": (130, 60, 170),
}
SHAPES = ("circle", "square", "triangle", "star")
SIZES = {"small": 48, "": 72, "large": 100}  # R in pixels; "" = no size word


def caption(size: str, colour: str, shape: str, background: str) -> str:
    words = ([size] if size else []) + [colour, shape]
    article = "an" if words[0][0] in "aeiou" else "a"
    return f"{article} {' '.join(words)} on {'an' if background[0] in 'aeiou' else 'a'} {background} background"


def all_captions() -> list[tuple[str, dict]]:
    """Every (caption, attributes) pair of the vocabulary, in a fixed order."""
    out = []
    for shape in SHAPES:
        for colour in COLOURS:
            for background in COLOURS:
                if background == colour:
                    continue
                for size in SIZES:
                    attrs = dict(size=size, colour=colour, shape=shape, background=background)
                    out.append((caption(**attrs), attrs))
    return out


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if shape == "square":
        pts = [(math.pi / 4 + k * math.pi / 2, 0.72 * r * math.sqrt(2)) for k in range(4)]
    elif shape == "triangle":
        pts = [(-math.pi / 2 + k * 2 * math.pi / 3, r) for k in range(3)]
    elif shape == "star":
        pts = [(-math.pi / 2 + k * math.pi / 5, r if k % 2 == 0 else 0.5 * r) for k in range(10)]
    else:
        raise ValueError(shape)
    return [(cx + d * math.cos(a + angle), cy + d * math.sin(a + angle)) for a, d in pts]


def render(shape: str, colour: str, background: str, r: float, cx: float, cy: float,
           angle_deg: float = 0.0) -> np.ndarray:
    """uint8 [SIZE, SIZE, 3]: the shape of radius r centred at (cx, cy) px, turned by angle_deg."""
    s = SUPERSAMPLE
    img = Image.new("RGB", (SIZE * s, SIZE * s), COLOURS[background])
    d = ImageDraw.Draw(img)
    if shape == "circle":
        rr = 0.8 * r * s
        d.ellipse([cx * s - rr, cy * s - rr, cx * s + rr, cy * s + rr], fill=COLOURS[colour])
    else:
        d.polygon(_polygon(shape, cx * s, cy * s, r * s, math.radians(angle_deg)), fill=COLOURS[colour])
    return np.asarray(img.resize((SIZE, SIZE), Image.BOX), dtype=np.uint8)


def caption_image(attrs: dict, rng: random.Random) -> np.ndarray:
    """One drawing of a caption: centred, with the seeded jitter."""
    c = SIZE / 2
    return render(attrs["shape"], attrs["colour"], attrs["background"], SIZES[attrs["size"]],
                  c + rng.uniform(-JITTER_PX, JITTER_PX), c + rng.uniform(-JITTER_PX, JITTER_PX),
                  0.0 if attrs["shape"] == "circle" else rng.uniform(-JITTER_DEG, JITTER_DEG))


def vae_image(rng: random.Random) -> np.ndarray:
    """The autoencoder's training distribution: a caption image (60%) or the same shapes and colours anywhere on
    the canvas, any size from 24 to 110 px, any rotation (40%)."""
    caps = all_captions()
    attrs = rng.choice(caps)[1]
    if rng.random() < 0.6:
        return caption_image(attrs, rng)
    r = rng.uniform(24, 110)
    return render(attrs["shape"], attrs["colour"], attrs["background"], r, rng.uniform(0, SIZE),
                  rng.uniform(0, SIZE), rng.uniform(0, 360))


if __name__ == "__main__":
    import sys
    from pathlib import Path

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/demo-dataset")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    caps = all_captions()
    print(len(caps), "captions")
    for i in range(0, len(caps), 37):
        text, attrs = caps[i]
        Image.fromarray(caption_image(attrs, rng)).save(out / f"{i:03d}.png")
        print(f"{i:03d}.png  {text}")
    for i in range(4):
        Image.fromarray(vae_image(rng)).save(out / f"vae{i}.png")
