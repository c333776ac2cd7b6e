"""A red round seal as a PNG, drawn without an imaging library (tests, the bench and the README picture)."""

from __future__ import annotations

import math
import struct
import zlib


def seal_png(size: int = 240) -> bytes:
    centre, outer, inner = size / 2, size / 2 - 4, size / 2 - 16
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            d = math.hypot(x - centre, y - centre)
            angle = math.atan2(y - centre, x - centre)
            star_r = size * 0.16 * (1 if int((angle + math.pi) / (math.pi / 5)) % 2 == 0 else 0.45)
            red = inner <= d <= outer or d <= star_r
            row += bytes((200, 30, 30, 230) if red else (0, 0, 0, 0))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
