#!/usr/bin/env python3
"""tools/png_diff.py A.png B.png — compare two 8-bit RGB/RGBA PNGs (standard
library only: the GPU machine has no Pillow). Prints one JSON line with the
size, the largest per-channel difference, the mean absolute difference and
the share of channels that differ by more than 8 levels. Exit 0 when the
images have the same size, 1 when not, 2 on a file it cannot read."""
import json
import struct
import sys
import zlib


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"{path}: only 8-bit RGB/RGBA, not interlaced")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
    if w is None:
        raise ValueError(f"{path}: no IHDR")
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
            elif ft != 0:
                raise ValueError(f"{path}: bad filter {ft}")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    rgb = bytes(v for i, v in enumerate(out) if bpp == 3 or i % 4 != 3)
    return w, h, rgb


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        wa, ha, a = read_png(sys.argv[1])
        wb, hb, b = read_png(sys.argv[2])
    except (OSError, ValueError, zlib.error) as e:
        print(f"png_diff: {e}", file=sys.stderr)
        return 2
    if (wa, ha) != (wb, hb):
        print(json.dumps({"size_a": [wa, ha], "size_b": [wb, hb], "same_size": False}))
        return 1
    d = [abs(x - y) for x, y in zip(a, b)]
    print(json.dumps({"size": [wa, ha], "same_size": True, "max_abs": max(d),
                      "mean_abs": round(sum(d) / len(d), 4),
                      "share_over_8": round(sum(v > 8 for v in d) / len(d), 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
