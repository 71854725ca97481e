#!/usr/bin/env python3
"""Writes the hand-made PNG fixtures of test-io (chunks assembled here, not
by libpng), and rgb-trns.pam, the expected decoding of rgb-trns.png.

The other expected files come from netpbm 11.01 (see README):
    pngtopam -alphapam X.png > X.pam   (X with alpha)
    pngtopam X.png > X.ppm             (rgb-palette2)
netpbm's pngtopam 11.01 gets RGB tRNS wrong (it matches (255,0,0) against
a tRNS of (255,0,128)), hence rgb-trns.pam is written here."""
import random
import struct
import zlib

random.seed(7)


def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))


def png(name, w, h, bd, ct, rows, extra=()):
    raw = b''.join(b'\0' + r for r in rows)
    d = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bd, ct, 0, 0, 0))
    for t, c in extra:
        d += chunk(t, c)
    d += chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
    open(name, 'wb').write(d)


w, h = 11, 5
# Gray palette (8-bit indices) with tRNS and a tEXt chunk.
pal = [(i * 17, i * 17, i * 17) for i in range(16)]
trns = bytes([255 - i * 10 for i in range(16)])
rows = [bytes(random.randrange(16) for x in range(w)) for y in range(h)]
png('gray-palette-trns.png', w, h, 8, 3, rows,
    [(b'PLTE', b''.join(bytes(p) for p in pal)), (b'tRNS', trns),
     (b'tEXt', b'Comment\0gray palette')])
# 2-bit color palette.
pal = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)]
rows = []
for y in range(h):
    v = [random.randrange(4) for x in range(w)] + [0] * 5
    rows.append(bytes((v[i] << 6 | v[i + 1] << 4 | v[i + 2] << 2 | v[i + 3]) for i in range(0, w, 4)))
png('rgb-palette2.png', w, h, 2, 3, rows, [(b'PLTE', b''.join(bytes(p) for p in pal))])
# RGBA, 16 bits.
rows = [b''.join(struct.pack('>HHHH', *(random.randrange(65536) for c in range(4))) for x in range(w))
        for y in range(h)]
png('rgba16.png', w, h, 16, 6, rows)
# Gray + alpha, 8 bits.
rows = [bytes(random.randrange(256) for x in range(2 * w)) for y in range(h)]
png('gray-alpha.png', w, h, 8, 4, rows)
# Gray, 1 bit, with tRNS (1 is transparent).
rows = [bytes(random.randrange(256) for x in range((w + 7) // 8)) for y in range(h)]
png('gray1-trns.png', w, h, 1, 0, rows, [(b'tRNS', struct.pack('>H', 1))])
# RGB, 8 bits, with tRNS (255, 0, 128).
rows = [bytes(random.choice([0, 255, 128]) for x in range(3 * w)) for y in range(h)]
png('rgb-trns.png', w, h, 8, 2, rows, [(b'tRNS', struct.pack('>HHH', 255, 0, 128))])
with open('rgb-trns.pam', 'wb') as f:
    f.write(b'P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n' % (w, h))
    for r in rows:
        for x in range(w):
            p = r[3 * x:3 * x + 3]
            f.write(p + bytes([0 if p == b'\xff\x00\x80' else 255]))
