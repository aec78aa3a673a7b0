"""tests/api/pngcheck.py — a small, strict PNG decoder in pure Python.

decode(data) parses every chunk (checking each CRC), reads IHDR, inflates the
IDAT stream and undoes the five row filters of the PNG spec (ISO/IEC 15948,
section 9), so a PNG that decodes here really is a complete, well-formed
8-bit greyscale/RGB/RGBA non-interlaced image. Raises ValueError on anything
else. No third-party dependency: pictord's PNGs are checked without Pillow.
"""
import base64
import struct
import zlib
from dataclasses import dataclass, field

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 6: 4}  # colour type -> samples per pixel (8-bit only)


@dataclass
class Png:
    width: int
    height: int
    channels: int
    pixels: bytes  # rows top to bottom, no filter bytes
    text: dict = field(default_factory=dict)  # tEXt keyword -> latin-1 text


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw, width, height, bpp):
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise ValueError(f"IDAT holds {len(raw)} bytes, {height * (stride + 1)} expected")
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                row[i] = (row[i] + prev[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + _paeth(left, prev[i], upleft)) & 0xFF
        elif kind != 0:
            raise ValueError(f"row {y}: unknown filter type {kind}")
        out[y * stride:(y + 1) * stride] = row
        prev = row
    return bytes(out)


def decode(data: bytes) -> Png:
    """Decodes a whole PNG file; ValueError when it is not a valid one."""
    if data[:8] != SIGNATURE:
        raise ValueError("no PNG signature")
    pos, idat, text, ihdr, ended = 8, [], {}, None, False
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"truncated chunk at byte {pos}")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise ValueError(f"chunk {kind!r} truncated")
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"chunk {kind!r}: bad CRC")
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"IEND":
            ended = True
            break
    if ihdr is None or not ended or not idat:
        raise ValueError("IHDR, IDAT or IEND missing")
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes after IEND")
    width, height, depth, colour, _comp, _filt, interlace = ihdr
    if depth != 8 or colour not in CHANNELS or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour {colour}, interlace {interlace}")
    if width == 0 or height == 0:
        raise ValueError("empty image")
    bpp = CHANNELS[colour]
    pixels = _unfilter(zlib.decompress(b"".join(idat)), width, height, bpp)
    return Png(width, height, bpp, pixels, text)


def decode_b64(b64: str) -> Png:
    """decode() of a base64 string (as in b64_json); ValueError when invalid."""
    return decode(base64.b64decode(b64, validate=True))
