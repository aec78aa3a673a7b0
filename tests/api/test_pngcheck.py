"""pngcheck.py itself: it recovers known pixels through all five row filters
and refuses broken files, so "the PNG decodes" in the other tests means it."""
import random
import struct
import zlib

import pytest

import pngcheck


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def filtered(rows, bpp):
    """Each row with filter (row index % 5), encoded as the PNG spec says."""
    out, prev = bytearray(), bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = y % 5
        enc = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) >> 1, pngcheck._paeth(a, b, c)][kind]
            enc.append((x - pred) & 0xFF)
        out += bytes([kind]) + enc
        prev = row
    return bytes(out)


def make_png(w, h, rows, text=b"parameters\0hello"):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (pngcheck.SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"tEXt", text) +
            chunk(b"IDAT", zlib.compress(filtered(rows, 3))) + chunk(b"IEND", b""))


def test_all_filters_round_trip():
    rng = random.Random(1)
    w, h = 7, 11
    rows = [bytes(rng.randrange(256) for _ in range(3 * w)) for _ in range(h)]
    png = pngcheck.decode(make_png(w, h, rows))
    assert (png.width, png.height, png.channels) == (w, h, 3)
    assert png.pixels == b"".join(rows)
    assert png.text == {"parameters": "hello"}


def test_broken_files_are_refused():
    rows = [bytes(12)] * 4
    good = make_png(4, 4, rows)
    pngcheck.decode(good)
    bad_crc = bytearray(good)
    bad_crc[40] ^= 1  # inside the tEXt chunk
    for bad in (good[:-5], bytes(bad_crc), b"GIF89a" + good[6:], good + b"junk",
                make_png(4, 5, rows)):  # IHDR says 5 rows, IDAT holds 4
        with pytest.raises((ValueError, zlib.error, struct.error)):
            pngcheck.decode(bad)
