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

The second half (render_doc, degrade_doc, doc_recipe; tools/make-doc-data's
default generator) makes the training pages of issue 14: whole layouts in
every text face fontconfig lists (discover_fonts) but the evaluation's
held-out families, in both polarities, with folds and bleed-through added
to the damage.

Needs Debian's python3-numpy, python3-scipy, python3-pil, python3-opencv,
fontconfig and the font packages listed in FONTS (missing fonts are
skipped).
"""

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
    return out * (1.0 - specks(rng, page.shape, n, (0.5, 2.5), (0.4, 0.95), dpi))


def specks(rng, shape, n, radius, dark, dpi):
    """n round specks at random places: radius (px at 300 dpi) and darkness
    drawn uniformly from the two ranges; the darkness map."""
    out = np.zeros(shape, np.float32)
    ys = rng.integers(0, shape[0], n)
    xs = rng.integers(0, shape[1], n)
    scale = dpi / 300.0
    for y, x in zip(ys, xs):
        r = max(0.5, rng.uniform(*radius) * scale)
        cv2.circle(out, (int(x), int(y)), int(round(r)), float(rng.uniform(*dark)), -1)
    return out


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


# ---------------------------------------------------------------------------
# Training pages that generalise (issue 14): every text face Debian ships
# but the families the evaluation keeps apart, whole-page layouts (columns,
# tables, rules, panels, pictures), both polarities, and more kinds of
# damage.  Used by tools/make-doc-data; render_page and degrade above stay
# as they were for the older tools.

# Families no training or validation page may use: the evaluation renders
# its pages with them.
HELD_OUT_FAMILIES = re.compile(r"noto|lato|libertin|biolinum|garamond|plex", re.I)
# Not text faces: symbols, maths, dingbats, scripts, CJK fallbacks.
NOT_TEXT = re.compile(r"math|symbol|dingbat|d050000l|z003|chorus|fallback|awesome|"
                      r"smallcaps|initials|keyboard|esint|wasy|cm(ex|mi|sy|r)10|"
                      r"msam|msbm|rsfs|stmary|eufm|dsrom", re.I)

STYLE_WEIGHTS = {"regular": 0.55, "bold": 0.2, "italic": 0.17, "bolditalic": 0.08}


def discover_fonts():
    """The text faces fontconfig knows that cover English, as a sorted list
    of (family, style, mono, file): style is regular, bold, italic or
    bolditalic (light, thin, black and such weights are left out).  Held-out
    families are never returned."""
    import subprocess
    fmt = "%{file}\t%{family[0]}\t%{spacing}\t%{weight}\t%{slant}\n"
    try:
        out = subprocess.run(["fc-list", ":lang=en", "--format", fmt], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("docgen: fc-list failed (%s): apt-get install fontconfig" % e)
    faces = {}
    for row in out.splitlines():
        f = row.split("\t")
        if len(f) != 5 or not f[0].endswith((".ttf", ".otf", ".TTF", ".OTF")):
            continue
        path, family, spacing, weight, slant = f
        if HELD_OUT_FAMILIES.search(family + path) or NOT_TEXT.search(family + path):
            continue
        try:
            w = float(weight)
        except ValueError:  # a variable font's range: its default instance
            w = 80.0
        if 80 <= w <= 105:
            bold = False
        elif 180 <= w <= 210:
            bold = True
        else:
            continue
        italic = slant.strip() not in ("", "0")
        style = ("bold" if bold else "") + ("italic" if italic else "") or "regular"
        key = (family, style)
        if key not in faces or path < faces[key][3]:
            faces[key] = (family, style, spacing.strip() == "100", path)
    fonts = sorted(faces.values())
    if not fonts:
        raise SystemExit("docgen: no usable fonts (apt-get install fonts-dejavu "
                         "fonts-liberation2 fonts-urw-base35 ...)")
    return fonts


def font_families(fonts):
    fam = {}
    for f in fonts:
        fam.setdefault(f[0], {})[f[1]] = f
    return [fam[k] for k in sorted(fam)]


def pick_face(rng, family, style=None):
    """A face of a family: `style` if it has it, else drawn by STYLE_WEIGHTS."""
    if style in family:
        return family[style]
    names = sorted(family)
    p = np.array([STYLE_WEIGHTS[n] for n in names])
    return family[names[rng.choice(len(names), p=p / p.sum())]]


_FACE_CACHE = {}


def load_face(path, px):
    key = (path, px)
    if key not in _FACE_CACHE:
        if len(_FACE_CACHE) > 256:
            _FACE_CACHE.clear()
        _FACE_CACHE[key] = ImageFont.truetype(path, px)
    return _FACE_CACHE[key]


class _Words:
    """An endless stream of words from the paragraphs, from a random start."""

    def __init__(self, rng, paras):
        self.rng, self.paras = rng, paras
        self.k = int(rng.integers(len(paras)))
        self.buf = []

    def next(self):
        if not self.buf:
            self.buf = self.paras[self.k % len(self.paras)].split(" ")[::-1]
            self.k += 1
        return self.buf.pop()

    def phrase(self, n):
        return " ".join(self.next() for _ in range(n))


def _wrap_lines(draw, words, face, width, n_lines):
    """Fills up to n_lines lines of at most `width` pixels."""
    lines = []
    line = ""
    while len(lines) < n_lines:
        w = words.next()
        cand = w if not line else line + " " + w
        if draw.textlength(cand, font=face) <= width:
            line = cand
            continue
        if line:
            lines.append(line)
        line = w if draw.textlength(w, font=face) <= width else ""
    return lines


def _text_block(draw, rng, words, face, x, y, width, height, line_h, fill,
                underline=0.0):
    """Prose in a box; returns the y below the last line drawn."""
    n = max(0, int((height - face.size) // line_h) + 1)
    for i, line in enumerate(_wrap_lines(draw, words, face, width, n)):
        yy = y + i * line_h
        draw.text((x, yy), line, font=face, fill=fill)
        if underline and rng.random() < underline:
            # Underline a run of words, as a link or an emphasis would be.
            parts = line.split(" ")
            a = int(rng.integers(len(parts)))
            b = min(len(parts), a + int(rng.integers(1, 5)))
            x0 = x + draw.textlength(" ".join(parts[:a]) + (" " if a else ""), font=face)
            x1 = x + draw.textlength(" ".join(parts[:b]), font=face)
            uy = yy + face.getmetrics()[0] + max(1, face.size // 12)
            draw.line([(x0, uy), (x1, uy)], fill=fill, width=max(1, face.size // 16))
    return y + n * line_h


def _halftone(rng, w, h, dpi):
    """A picture: a smooth random field, printed as a dot screen (or as
    continuous grey, as a photo print or a screenshot is)."""
    f = _smooth_field(rng, h, w, rng.uniform(2, 8))
    f = np.clip(0.5 + 0.6 * f + 0.1 * _smooth_field(rng, h, w, rng.uniform(15, 40)), 0, 1)
    if rng.random() < 0.6:
        return f.astype(np.float32)
    lpi = rng.uniform(60, 150)
    period = max(3.0, dpi / lpi)
    a = np.deg2rad(rng.choice([0.0, 15.0, 45.0]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (np.cos(a) * xx + np.sin(a) * yy) * 2 * np.pi / period
    v = (-np.sin(a) * xx + np.cos(a) * yy) * 2 * np.pi / period
    screen = 0.5 + 0.25 * (np.cos(u) + np.cos(v))
    return (f > screen).astype(np.float32)


def _table(draw, rng, words, face, x, y, width, height, line_h, fill):
    rows = max(2, int(height // (line_h * 1.4)))
    cols = int(rng.integers(2, 6))
    row_h = height / rows
    lw = max(1, int(round(face.size / rng.uniform(12, 30))))
    grid = rng.random() < 0.5
    cx = np.sort(rng.uniform(0.1, 0.9, cols - 1)) * width
    xs = [x] + [x + c for c in cx] + [x + width]
    for r in range(rows + 1):
        if grid or r in (0, 1, rows):
            yy = y + r * row_h
            draw.line([(x, yy), (x + width, yy)], fill=fill, width=lw)
    if grid:
        for c in xs:
            draw.line([(c, y), (c, y + height)], fill=fill, width=lw)
    pad = face.size // 4
    for r in range(rows):
        for c in range(cols):
            cw = xs[c + 1] - xs[c] - 2 * pad
            if rng.random() < 0.5:
                s = "%.*f" % (int(rng.integers(0, 3)), rng.uniform(0, 10 ** rng.uniform(1, 5)))
            else:
                s = words.phrase(int(rng.integers(1, 3)))
            while s and draw.textlength(s, font=face) > cw:
                s = s[:-1]
            if s:
                draw.text((xs[c] + pad, y + r * row_h + (row_h - face.size) / 2), s,
                          font=face, fill=fill)


def render_doc(rng, paras, families, dpi, size_pt, W, H):
    """A page of W x H pixels laid out like a document: blocks of prose in
    1-3 columns, headings, rules, underlines, tables, shaded boxes, dark
    panels with light text, halftone pictures, footnotes and a page number;
    sometimes wholly light on dark, sometimes with dark scanner borders,
    often skewed.  Returns (page float32 in [0,1], meta); meta's
    picture_mask is 1 on the pictures."""
    fam = families[rng.integers(len(families))]
    body = pick_face(rng, fam, "regular" if rng.random() < 0.7 else None)
    px = max(7, int(round(size_pt * dpi / 72.0)))
    img = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(img)
    words = _Words(rng, paras)
    mx = int(rng.uniform(0.02, 0.1) * W)
    my = int(rng.uniform(0.02, 0.08) * H)
    x0, x1 = mx, W - mx
    y = my
    bottom = H - my
    spacing = rng.uniform(1.1, 1.6)
    face = load_face(body[3], px)
    line_h = int(round(px * spacing))
    # The bottom: a page number, sometimes footnotes above it.
    if rng.random() < 0.5:
        nface = load_face(body[3], max(7, int(px * 0.9)))
        s = str(int(rng.integers(1, 400)))
        tw = draw.textlength(s, font=nface)
        xn = [x0, (W - tw) / 2, x1 - tw][int(rng.integers(3))]
        bottom -= int(px * 1.5)
        draw.text((xn, bottom + px * 0.3), s, font=nface, fill=0)
    if rng.random() < 0.3:
        fface = load_face(body[3], max(7, int(px * 0.75)))
        fh = int(px * 0.75 * 1.25) * int(rng.integers(1, 4))
        top = bottom - fh - px // 2
        if top > y + 3 * line_h:
            draw.line([(x0, top), (x0 + (x1 - x0) // 3, top)], fill=0,
                      width=max(1, px // 14))
            _text_block(draw, rng, words, fface, x0, top + px // 3, x1 - x0, fh,
                        int(px * 0.75 * 1.25), 0)
            bottom = top - px // 2
    kinds = []
    pictures = []
    while y + px < bottom:
        k = rng.choice(["prose", "heading", "rule", "table", "panel", "shade", "picture"],
                       p=[0.45, 0.1, 0.06, 0.1, 0.1, 0.08, 0.11])
        h = int(min(bottom - y, line_h * rng.integers(2, 12)))
        kinds.append(str(k))
        if k == "prose":
            ncol = int(rng.choice([1, 2, 3], p=[0.65, 0.28, 0.07]))
            gap = int(px * rng.uniform(1, 2.5))
            cw = (x1 - x0 - gap * (ncol - 1)) // ncol
            if cw < 4 * px:
                ncol, cw = 1, x1 - x0
            f = face if rng.random() < 0.8 else load_face(pick_face(rng, fam)[3], px)
            for c in range(ncol):
                _text_block(draw, rng, words, f, x0 + c * (cw + gap), y, cw, h, line_h, 0,
                            underline=0.08)
            if ncol > 1 and rng.random() < 0.3:
                for c in range(1, ncol):
                    xr = x0 + c * (cw + gap) - gap // 2
                    draw.line([(xr, y), (xr, y + h)], fill=0, width=max(1, px // 14))
        elif k == "heading":
            hs = int(px * rng.uniform(1.2, 2.2))
            hf = load_face(pick_face(rng, fam, "bold" if rng.random() < 0.7 else None)[3], hs)
            s = words.phrase(int(rng.integers(1, 6)))
            while s and draw.textlength(s, font=hf) > x1 - x0:
                s = s[:-1]
            h = int(hs * 1.6)
            if y + h > bottom:
                break
            tw = draw.textlength(s, font=hf)
            hx = x0 if rng.random() < 0.7 else (W - tw) / 2
            draw.text((hx, y + hs * 0.2), s, font=hf, fill=0)
            if rng.random() < 0.25:
                uy = y + hs * 0.2 + hf.getmetrics()[0] + 2
                draw.line([(hx, uy), (hx + tw, uy)], fill=0, width=max(1, hs // 15))
        elif k == "rule":
            h = int(px * rng.uniform(0.5, 1.5))
            lw = max(1, int(px * rng.uniform(0.04, 0.4)))
            draw.rectangle([x0, y + h // 2, x1, y + h // 2 + lw - 1], fill=0)
        elif k == "table":
            _table(draw, rng, words, face, x0, y, x1 - x0, h, line_h, 0)
        elif k in ("panel", "shade"):
            # A box with its own ground: light text on a dark panel, or dark
            # text on grey shading.
            bx0 = x0 + int(rng.uniform(0, 0.3) * (x1 - x0))
            bx1 = x1 - int(rng.uniform(0, 0.3) * (x1 - x0))
            if k == "panel":
                ground, ink = int(rng.uniform(0, 90)), int(rng.uniform(200, 256))
            else:
                ground, ink = int(rng.uniform(150, 235)), int(rng.uniform(0, 60))
            draw.rectangle([bx0, y, bx1, y + h], fill=ground)
            pad = px // 2
            if bx1 - bx0 > 4 * px:
                _text_block(draw, rng, words, face, bx0 + pad, y + pad, bx1 - bx0 - 2 * pad,
                            h - 2 * pad, line_h, ink)
        else:
            pw = int(rng.uniform(0.3, 1.0) * (x1 - x0))
            px0 = x0 + int(rng.uniform(0, 1) * (x1 - x0 - pw))
            pic = _halftone(rng, pw, h, dpi)
            img.paste(Image.fromarray(to_u8(pic)), (px0, y))
            pictures.append((px0, y, px0 + pw, y + h))
        y += h + int(line_h * rng.uniform(0.3, 1.2))
    page = np.asarray(img, dtype=np.float32) / 255.0
    picmask = np.zeros((H, W), np.uint8)
    for (a, b, c, d) in pictures:
        picmask[b:d, a:c] = 1
    inverted = rng.random() < 0.2
    if inverted:
        page = 1.0 - page
    skew = float(rng.uniform(-3, 3)) if rng.random() < 0.5 else 0.0
    if skew:
        fill = float(page[0, 0]) if inverted else 1.0
        M = cv2.getRotationMatrix2D((W / 2, H / 2), skew, 1.0)
        page = cv2.warpAffine(page, M, (W, H), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
        picmask = cv2.warpAffine(picmask, M, (W, H), flags=cv2.INTER_NEAREST)
    if rng.random() < 0.15:
        # The dark edge of the scanner's lid beyond the sheet.
        for side in range(4):
            if rng.random() < 0.4:
                b = int(rng.uniform(0.02, 0.12) * min(W, H))
                v = rng.uniform(0.0, 0.25)
                if side == 0:
                    page[:b] = v
                elif side == 1:
                    page[-b:] = v
                elif side == 2:
                    page[:, :b] = v
                else:
                    page[:, -b:] = v
    meta = {"font": os.path.basename(body[3]), "family": body[0], "style": body[1],
            "dpi": dpi, "size_pt": round(float(size_pt), 2), "skew": round(skew, 2),
            "inverted": inverted, "blocks": "+".join(sorted(set(kinds))) or "-",
            "picture_mask": picmask}
    return np.clip(page, 0, 1).astype(np.float32), meta


def fold(rng, page, dpi, s):
    """A crease across the page: a thin dark line with a shaded side."""
    H, W = page.shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    a = rng.uniform(-0.1, 0.1) + (np.pi / 2 if rng.random() < 0.5 else 0.0)
    c = rng.uniform(0.2, 0.8)
    d = (-np.sin(a) * (xx - c * W) + np.cos(a) * (yy - c * H)) / (dpi / 300.0)
    line = np.exp(-(d / rng.uniform(0.7, 2.0)) ** 2) * _lerp(0.2, 0.6, s)
    side = np.where(d > 0, np.exp(-d / rng.uniform(20, 80)), 0) * _lerp(0.05, 0.3, s)
    return page * (1.0 - line - side) + 0.15 * line * (rng.random() < 0.3)


def bleed(rng, page, dpi, s, ghost):
    """Bleed-through: the mirrored, blurred text of the other side."""
    g = cv2.GaussianBlur(ghost[:, ::-1], (0, 0), rng.uniform(0.8, 2.5) * dpi / 300.0)
    return page * (1.0 - _lerp(0.08, 0.4, s) * (1.0 - g))


def jpeg_q(rng, page, dpi, s):
    q = int(round(_lerp(60, 10, s)))
    im = Image.fromarray(np.clip(page * 255 + 0.5, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=q)
    buf.seek(0)
    return np.asarray(Image.open(buf), dtype=np.float32) / 255.0


DOC_KINDS = ["illumination", "stains", "fold", "bleed", "faded", "blur", "speckle",
             "gaussian", "saltpepper", "jpeg"]


def doc_recipe(rng):
    """What a training page suffers: ("clean", ...) 8% of the time, the page
    as it is (the target is the input: do no harm); ("mild", ...) 12%,
    off-white paper, grey ink and light noise, blur or JPEG; one kind 45%;
    a mixture of 2-4 kinds 35%.  Returns (class, kinds, strengths)."""
    u = rng.random()
    if u < 0.08:
        return "clean", [], []
    if u < 0.20:
        return mild_recipe(rng)
    if u < 0.65:
        return "one", [DOC_KINDS[int(rng.integers(len(DOC_KINDS)))]], [float(rng.random())]
    n = int(rng.integers(2, 5))
    k = [str(x) for x in rng.choice(DOC_KINDS, size=n, replace=False)]
    return "mixed", k, [float(rng.uniform(0, 0.85)) for _ in k]


def mild_recipe(rng, none=True):
    """A nearly clean scan: light Gaussian noise, JPEG or blur (strength
    0-0.1), or (with `none`) paper and ink tints alone."""
    ks = ["gaussian", "jpeg", "blur"] + (["none"] if none else [])
    k = ks[int(rng.integers(len(ks)))]
    return "mild", ([] if k == "none" else [k]), ([] if k == "none" else [float(rng.uniform(0, 0.1))])


def grey_paper(rng, page):
    """Generator 3: paper_and_ink, but a third of the sheets grey (newsprint,
    recycled paper, an underexposed scan: 0.45-0.88).  Generator 2 never made
    grey paper outside shading, and document.dae G5 turned a grey page's
    noisy margins into black blotches."""
    paper = rng.uniform(0.45, 0.88) if rng.random() < 0.33 else rng.uniform(0.88, 1.0)
    ink = rng.uniform(0.0, 0.1)
    return ink + (paper - ink) * page


def degrade_doc(rng, page, dpi, kinds, strengths, ghost=None, inverted=None):
    """Applies the kinds in physical order (paper and ink first); `ghost`
    is another page's clean text for bleed-through.  `inverted` (generator
    3: True or False) makes the paper grey at times and fades a light-on-dark
    page's text instead of its dark ground: generator 2 (None) faded the
    ground of such pages to a mid grey whose target was black, which taught
    the model that noisy grey paper is a dark panel."""
    fns = dict(KINDS, fold=fold)
    gen3 = inverted is not None
    out = grey_paper(rng, page) if gen3 else paper_and_ink(rng, page)
    for k in DOC_KINDS[:-1]:  # all but the file format, "jpeg"
        if k not in kinds:
            continue
        s = strengths[kinds.index(k)]
        if k == "bleed":
            out = bleed(rng, out, dpi, s, ghost if ghost is not None else np.ones_like(out))
        elif k == "faded" and inverted:
            out = 1.0 - faded(rng, 1.0 - out, dpi, s)
        else:
            out = fns[k](rng, out, dpi, s)
        out = np.clip(out, 0.0, 1.0).astype(np.float32)
    if gen3:
        out = np.clip(sensor(rng, out), 0.0, 1.0).astype(np.float32)
    if "jpeg" in kinds:
        out = jpeg_q(rng, out, dpi, strengths[kinds.index("jpeg")])
    elif gen3 and rng.random() < 0.3:
        out = jpeg_q(rng, out, dpi, rng.uniform(-0.7, 0.0))  # quality 60-95
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def sensor(rng, page):
    """Generator 3: a scanner's own light noise (0-8/255, on 60% of the
    pages) before the file format; the kinds above start at 13/255, and
    G5 read a grey page's faint noise, JPEG'd, as a halftone screen."""
    if rng.random() >= 0.6:
        return page
    return page + rng.uniform(0.0, 0.03) * rng.standard_normal(page.shape, dtype=np.float32)
