"""docgen: synthetic scanned pages for training and evaluating dae models.

Shared by tools/make-doc-data (training patches) and tools/bench-ocr
(evaluation pages).  A page is real prose rendered dark on light in one of
the fonts Debian ships (serif, sans and mono; 8-14 pt at 200-400 dpi), then
degraded the way scans are: Gaussian, salt-and-pepper and speckle noise,
blur, uneven illumination, stains (blotches, coffee rings), faded ink and
JPEG artifacts, alone or in mixtures.  Everything is drawn from a
numpy Generator seeded by the caller: the same seed gives the same page on
the same machine (fonts, FreeType and libjpeg versions fixed).

Samples are float32 in [0,1], 1 = white paper, 0 = black ink.

Needs Debian's python3-numpy, python3-scipy, python3-pil, python3-opencv and
the font packages listed in FONTS (missing fonts are skipped).
"""

import glob
import io
import os
import re

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

# ---------------------------------------------------------------------------
# Fonts: (class, Debian package, file).  Regular faces carry most of the
# weight; a few bold and italic faces add variety.

_TTF = "/usr/share/fonts/truetype"
_OTF = "/usr/share/fonts/opentype"
_GYRE = "/usr/share/texmf/fonts/opentype/public/tex-gyre"

FONTS = [
    ("serif", "fonts-dejavu-core", _TTF + "/dejavu/DejaVuSerif.ttf"),
    ("serif", "fonts-liberation", _TTF + "/liberation/LiberationSerif-Regular.ttf"),
    ("serif", "fonts-freefont-ttf", _TTF + "/freefont/FreeSerif.ttf"),
    ("serif", "fonts-urw-base35", _OTF + "/urw-base35/NimbusRoman-Regular.otf"),
    ("serif", "fonts-urw-base35", _OTF + "/urw-base35/C059-Roman.otf"),
    ("serif", "fonts-urw-base35", _OTF + "/urw-base35/P052-Roman.otf"),
    ("serif", "fonts-crosextra-caladea", _TTF + "/crosextra/Caladea-Regular.ttf"),
    ("serif", "fonts-texgyre", _GYRE + "/texgyretermes-regular.otf"),
    ("serif", "fonts-texgyre", _GYRE + "/texgyrepagella-regular.otf"),
    ("serif", "fonts-texgyre", _GYRE + "/texgyrebonum-regular.otf"),
    ("serif", "fonts-texgyre", _GYRE + "/texgyreschola-regular.otf"),
    ("sans", "fonts-dejavu-core", _TTF + "/dejavu/DejaVuSans.ttf"),
    ("sans", "fonts-liberation", _TTF + "/liberation/LiberationSans-Regular.ttf"),
    ("sans", "fonts-freefont-ttf", _TTF + "/freefont/FreeSans.ttf"),
    ("sans", "fonts-urw-base35", _OTF + "/urw-base35/NimbusSans-Regular.otf"),
    ("sans", "fonts-urw-base35", _OTF + "/urw-base35/URWGothic-Book.otf"),
    ("sans", "fonts-crosextra-carlito", _TTF + "/crosextra/Carlito-Regular.ttf"),
    ("sans", "fonts-texgyre", _GYRE + "/texgyreheros-regular.otf"),
    ("sans", "fonts-texgyre", _GYRE + "/texgyreadventor-regular.otf"),
    ("mono", "fonts-dejavu-core", _TTF + "/dejavu/DejaVuSansMono.ttf"),
    ("mono", "fonts-liberation", _TTF + "/liberation/LiberationMono-Regular.ttf"),
    ("mono", "fonts-freefont-ttf", _TTF + "/freefont/FreeMono.ttf"),
    ("mono", "fonts-urw-base35", _OTF + "/urw-base35/NimbusMonoPS-Regular.otf"),
    ("mono", "fonts-texgyre", _GYRE + "/texgyrecursor-regular.otf"),
    ("serif-bold", "fonts-liberation", _TTF + "/liberation/LiberationSerif-Bold.ttf"),
    ("serif-italic", "fonts-liberation", _TTF + "/liberation/LiberationSerif-Italic.ttf"),
    ("sans-bold", "fonts-dejavu-core", _TTF + "/dejavu/DejaVuSans-Bold.ttf"),
    ("serif-italic", "fonts-urw-base35", _OTF + "/urw-base35/P052-Italic.otf"),
    ("mono-bold", "fonts-liberation", _TTF + "/liberation/LiberationMono-Bold.ttf"),
]


def available_fonts():
    fonts = [f for f in FONTS if os.path.exists(f[2])]
    if not fonts:
        raise SystemExit("docgen: none of the fonts is installed "
                         "(apt-get install fonts-dejavu-core fonts-liberation ...)")
    return fonts


def pick_font(rng, fonts):
    # Regular serif/sans/mono faces 85% of the time, styled faces the rest.
    plain = [f for f in fonts if "-" not in f[0]]
    styled = [f for f in fonts if "-" in f[0]]
    pool = styled if styled and rng.random() < 0.15 else plain
    return pool[rng.integers(len(pool))]


# ---------------------------------------------------------------------------
# Text sources.  Training reads the fortune cookies (Debian's fortunes and
# fortunes-min), minus some files held out for validation; evaluation reads
# the license texts of /usr/share/common-licenses (base-files), which no
# training page contains.

FORTUNE_DIR = "/usr/share/games/fortunes"
FORTUNE_SKIP = {"art", "ascii-art", "translate-me"}  # pictures, non-English
FORTUNE_VALIDATION = {"wisdom", "science", "literature"}
LICENSE_DIR = "/usr/share/common-licenses"
LICENSE_FILES = ["GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-2.1", "Artistic",
                 "GFDL-1.3", "CC0-1.0", "BSD", "GPL-2", "MPL-1.1"]

_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def _clean_paragraph(s):
    s = s.replace("\t", " ")
    s = re.sub(r"\s+", " ", s).strip()
    return s


def _ascii_ok(s):
    return s and not _PRINTABLE.search(s) and sum(c.isalpha() for c in s) > 0.6 * len(
        s.replace(" ", ""))


def load_paragraphs(source):
    """Paragraphs of prose: source is 'train', 'validation' or 'eval'."""
    paras = []
    if source in ("train", "validation"):
        names = sorted(n for n in os.listdir(FORTUNE_DIR)
                       if "." not in n and n not in FORTUNE_SKIP
                       and os.path.isfile(os.path.join(FORTUNE_DIR, n)))
        keep = (lambda n: n in FORTUNE_VALIDATION) if source == "validation" else \
               (lambda n: n not in FORTUNE_VALIDATION)
        for n in names:
            if not keep(n):
                continue
            with open(os.path.join(FORTUNE_DIR, n), encoding="latin-1") as f:
                for entry in f.read().split("\n%\n"):
                    p = _clean_paragraph(entry)
                    if len(p) > 20 and _ascii_ok(p):
                        paras.append(p)
    elif source == "eval":
        for n in LICENSE_FILES:
            path = os.path.join(LICENSE_DIR, n)
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for block in re.split(r"\n\s*\n", f.read()):
                    p = _clean_paragraph(block)
                    if len(p) > 20 and _ascii_ok(p):
                        paras.append(p)
    else:
        raise ValueError(source)
    if not paras:
        raise SystemExit("docgen: no text for '%s' (apt-get install fortunes "
                         "fortunes-min; base-files has the licenses)" % source)
    return paras


# ---------------------------------------------------------------------------
# Rendering


def render_page(rng, paras, fonts, dpi, size_pt, width_in, height_in,
                font=None, skew_deg=0.0):
    """Renders prose onto a white page.

    Returns (page, lines, meta): page is float32 HxW in [0,1]; lines the
    text of each rendered line (the OCR ground truth)."""
    W, H = int(round(width_in * dpi)), int(round(height_in * dpi))
    if font is None:
        font = pick_font(rng, fonts)
    px = max(6, int(round(size_pt * dpi / 72.0)))
    face = ImageFont.truetype(font[2], px)
    img = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(img)
    margin_x = int(rng.uniform(0.3, 0.6) * dpi)
    margin_y = int(rng.uniform(0.3, 0.6) * dpi)
    spacing = rng.uniform(1.15, 1.5)
    line_h = int(round(px * spacing))
    para_gap = int(round(line_h * rng.choice([0.0, 0.5, 1.0])))
    indent = int(round(px * rng.choice([0, 2])))
    text_w = W - 2 * margin_x
    y = margin_y
    lines = []
    k = int(rng.integers(len(paras)))
    ascent, descent = face.getmetrics()
    while True:
        words = paras[k % len(paras)].split(" ")
        k += 1
        line = ""
        first = True
        done = False
        i = 0
        while i < len(words):
            w = words[i]
            cand = w if not line else line + " " + w
            lead = indent if first else 0
            if draw.textlength(cand, font=face) + lead <= text_w or not line:
                if not line and draw.textlength(w, font=face) + lead > text_w:
                    # A word wider than the column: cut it.
                    n = len(w)
                    while n > 1 and draw.textlength(w[:n], font=face) + lead > text_w:
                        n -= 1
                    cand, words[i] = w[:n], w[n:]
                    i -= 1
                line = cand
                i += 1
                continue
            if y + ascent + descent > H - margin_y:
                done = True
                break
            draw.text((margin_x + (indent if first else 0), y), line, font=face, fill=0)
            lines.append(line)
            first = False
            y += line_h
            line = ""
        if done:
            break
        if line:
            if y + ascent + descent > H - margin_y:
                break
            draw.text((margin_x + (indent if first else 0), y), line, font=face, fill=0)
            lines.append(line)
            y += line_h
        y += para_gap
        if y + ascent + descent > H - margin_y:
            break
    if skew_deg:
        img = img.rotate(skew_deg, resample=Image.BICUBIC, fillcolor=255)
    page = np.asarray(img, dtype=np.float32) / 255.0
    meta = {"font": os.path.basename(font[2]), "font_class": font[0], "dpi": dpi,
            "size_pt": round(float(size_pt), 2), "skew": round(float(skew_deg), 2)}
    return page, lines, meta


# ---------------------------------------------------------------------------
# Degradations.  Each takes (rng, page, dpi, strength in [0,1]) and returns
# the degraded page; strength 0 is mild, 1 severe (the ranges below).


def _smooth_field(rng, H, W, cells):
    """Low-frequency noise in about [-1, 1] with `cells` features across."""
    gh = max(2, int(round(cells * H / max(H, W))) + 2)
    gw = max(2, int(round(cells * W / max(H, W))) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    f = cv2.resize(g, (W, H), interpolation=cv2.INTER_CUBIC)
    return f / (np.abs(f).max() + 1e-6)


def _lerp(lo, hi, t):
    return lo + (hi - lo) * t


def gaussian(rng, page, dpi, s):
    sigma = _lerp(0.05, 0.35, s)
    return page + sigma * rng.standard_normal(page.shape, dtype=np.float32)


def saltpepper(rng, page, dpi, s):
    p = _lerp(0.01, 0.15, s)
    u = rng.random(page.shape, dtype=np.float32)
    out = page.copy()
    out[u < p / 2] = 0.0
    out[(u >= p / 2) & (u < p)] = 1.0
    return out


def speckle(rng, page, dpi, s):
    # Multiplicative grain, plus the dust specks a flatbed picks up.
    k = _lerp(0.15, 0.6, s)
    out = page * (1.0 + k * rng.standard_normal(page.shape, dtype=np.float32))
    H, W = page.shape
    n = int(_lerp(150, 1500, s) * H * W / 1e6)
    specks = np.zeros(page.shape, np.float32)
    ys = rng.integers(0, H, n)
    xs = rng.integers(0, W, n)
    scale = dpi / 300.0
    for y, x in zip(ys, xs):
        r = max(0.5, rng.uniform(0.5, 2.5) * scale)
        cv2.circle(specks, (int(x), int(y)), int(round(r)), float(rng.uniform(0.4, 0.95)), -1)
    return out * (1.0 - specks)


def blur(rng, page, dpi, s):
    sigma = _lerp(0.6, 1.6, s) * dpi / 300.0
    out = cv2.GaussianBlur(page, (0, 0), sigma)
    return out + 0.01 * rng.standard_normal(page.shape, dtype=np.float32)


def illumination(rng, page, dpi, s):
    H, W = page.shape
    lo = _lerp(0.8, 0.35, s)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    kind = rng.integers(4)
    if kind == 0:  # a linear gradient across the page
        a = rng.uniform(0, 2 * np.pi)
        t = (np.cos(a) * xx / W + np.sin(a) * yy / H)
        t = (t - t.min()) / (t.max() - t.min() + 1e-6)
        L = _lerp(1.0, lo, t)
    elif kind == 1:  # a lamp's vignette
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        r = np.hypot((yy - cy) / H, (xx - cx) / W)
        r /= r.max()
        L = 1.0 - (1.0 - lo) * r ** rng.uniform(1.0, 2.5)
    elif kind == 2:  # the shadow of a book's fold along one edge
        w = rng.uniform(0.05, 0.3)
        if rng.random() < 0.5:
            d = (xx / W) if rng.random() < 0.5 else (1 - xx / W)
        else:
            d = (yy / H) if rng.random() < 0.5 else (1 - yy / H)
        L = 1.0 - (1.0 - lo) * np.exp(-d / w)
    else:  # cloudy unevenness
        f = _smooth_field(rng, H, W, rng.uniform(2, 6))
        L = _lerp(1.0, lo, 0.5 + 0.5 * f)
    L = L.astype(np.float32)
    # Keep the top band light: that is where dae-filter's --invert auto
    # decides the polarity, and real scans rarely start in deep shadow.
    top = float(np.median(L[: max(1, H // 12)]))
    if top < 0.65:
        L = np.minimum(1.0, L * (0.65 / top))
    paper = rng.uniform(0.85, 1.0)
    ink = rng.uniform(0.02, 0.12)
    return L * (ink + (paper - ink) * page)


def _blob_alpha(rng, H, W, cy, cx, r):
    """A soft irregular disc: 1 inside, 0 outside, fuzzy border."""
    y0, y1 = max(0, int(cy - 1.6 * r)), min(H, int(cy + 1.6 * r) + 1)
    x0, x1 = max(0, int(cx - 1.6 * r)), min(W, int(cx + 1.6 * r) + 1)
    if y1 <= y0 or x1 <= x0:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    ang = np.arctan2(yy - cy, xx - cx)
    wob = np.zeros_like(ang)
    for k in range(2, 6):
        wob += rng.uniform(0, 0.12) * np.cos(k * ang + rng.uniform(0, 2 * np.pi))
    d = np.hypot(yy - cy, xx - cx) / (r * (1 + wob))
    return (y0, y1, x0, x1), d


def stains(rng, page, dpi, s):
    H, W = page.shape
    out = page.copy()
    n = int(rng.integers(1, 3 + int(4 * s)))
    for _ in range(n):
        r = rng.uniform(0.2, 1.2) * dpi
        cy, cx = rng.uniform(-0.1, 1.1) * H, rng.uniform(-0.1, 1.1) * W
        got = _blob_alpha(rng, H, W, cy, cx, r)
        if got is None:
            continue
        (y0, y1, x0, x1), d = got
        amount = _lerp(0.15, 0.6, s) * rng.uniform(0.6, 1.0)
        if rng.random() < 0.5:
            # Coffee ring: a dark rim, a faint tint inside, sometimes broken.
            w = rng.uniform(0.02, 0.08)
            rim = np.where(d < 1, np.exp(-((1 - d) / (2.5 * w)) ** 2),
                           np.exp(-((d - 1) / (0.5 * w)) ** 2))
            alpha = rim + rng.uniform(0.05, 0.3) * (d < 1)
            if rng.random() < 0.5:
                ang = np.arctan2(np.mgrid[y0:y1, x0:x1][0] - cy,
                                 np.mgrid[y0:y1, x0:x1][1] - cx)
                alpha *= 0.5 + 0.5 * np.cos(ang - rng.uniform(0, 2 * np.pi)) ** 2
        else:
            # Blotch: a soft stain with a mottled inside.
            alpha = np.clip((1.0 - d) / rng.uniform(0.1, 0.4), 0, 1)
            tex = _smooth_field(rng, y1 - y0, x1 - x0, rng.uniform(3, 10))
            alpha *= 0.75 + 0.25 * tex
        out[y0:y1, x0:x1] *= 1.0 - amount * np.clip(alpha, 0, 1.2).astype(np.float32)
    return out


def faded(rng, page, dpi, s):
    H, W = page.shape
    ink = _lerp(0.3, 0.7, s)  # the darkest the ink still gets
    # Thinner strokes: ink eaten at the edges.
    if rng.random() < 0.6:
        k = 2 if dpi < 300 else 3
        page = 0.5 * page + 0.5 * ndimage.maximum_filter(page, size=k)
    # Patchy fading: some words fainter than others, strokes broken.
    m = 0.5 + 0.5 * _smooth_field(rng, H, W, rng.uniform(8, 30))
    fine = 0.5 + 0.5 * _smooth_field(rng, H, W, W / (dpi * 0.02))
    fade = np.clip(_lerp(0.0, 0.6, s) * m + 0.35 * s * fine, 0, 0.95)
    return 1.0 - (1.0 - page) * (1.0 - ink) * (1.0 - fade)


def jpeg(rng, page, dpi, s):
    q = int(round(_lerp(30, 5, s)))
    im = Image.fromarray(np.clip(page * 255 + 0.5, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=q)
    buf.seek(0)
    return np.asarray(Image.open(buf), dtype=np.float32) / 255.0


KINDS = {
    "gaussian": gaussian,
    "saltpepper": saltpepper,
    "speckle": speckle,
    "blur": blur,
    "illumination": illumination,
    "stains": stains,
    "faded": faded,
    "jpeg": jpeg,
}

# Physical order for mixtures: the paper and ink, then the optics, then the
# sensor, then the file format.
ORDER = ["illumination", "stains", "faded", "blur", "speckle", "gaussian",
         "saltpepper", "jpeg"]


def paper_and_ink(rng, page):
    """Real paper is not pure white, nor ink pure black."""
    paper = rng.uniform(0.88, 1.0)
    ink = rng.uniform(0.0, 0.1)
    return ink + (paper - ink) * page


def degrade(rng, page, dpi, kinds, strengths):
    """Applies the kinds (in physical order) with their strengths."""
    out = paper_and_ink(rng, page)
    for k in ORDER:
        if k in kinds:
            out = KINDS[k](rng, out, dpi, strengths[kinds.index(k)])
            out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out


def random_recipe(rng):
    """What a training page suffers: 8% nothing but paper and ink, 57% one
    kind, 35% a mixture of 2-4; strengths uniform (mixtures a little
    milder, so the page stays legible)."""
    u = rng.random()
    names = list(KINDS)
    if u < 0.08:
        return [], []
    if u < 0.65:
        k = [names[rng.integers(len(names))]]
        return k, [float(rng.random())]
    n = int(rng.integers(2, 5))
    k = list(rng.choice(names, size=n, replace=False))
    return k, [float(rng.uniform(0, 0.8)) for _ in k]


def to_u8(a):
    return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
