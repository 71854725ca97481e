#!/usr/bin/python3
"""evalgen: held-out evaluation pages for tools/bench-ocr and tools/bench-real.

Shares nothing with the training generator (tools/docgen.py): its own
rendering path (Pango and cairo through python3-gi), its own fonts, texts and
damage code, and seeds no training run uses.  The split (bench/ocr/README.md):

  fonts   EVAL_FONTS only: Noto Sans / Serif / Sans Mono, Lato, Linux
          Libertine and Biolinum, EB Garamond; regular, bold and italic.
          Training never renders these families.
  texts   /usr/share/common-licenses and the copyright files of Debian's
          essential packages (TEXT_FILES); training reads fortune cookies.
  seeds   EVAL_SEED + page (bench-ocr), REAL_SEED + page (bench-real).

A page is a block of text (a bold heading over paragraphs, one or two
columns, left-aligned or justified) in dark ink on light paper at a given
dpi; its reference text is the laid-out lines in reading order.  damage()
applies one kind of KINDS at a strength in 0..1, or several (mixtures).
slide() draws a slide: a dark-on-light title over a dark panel with light
text, for polarity checks; receipt(), form(), table() and screen() the
everyday pages of tools/bench-real (a till receipt, a filled-in form, a
ruled table, a colour screenshot), from the same texts' words.

    tools/evalgen.py --out /tmp/pages --n 6     # sample pages, every kind
"""

import argparse
import gzip
import io
import os
import re
import subprocess
import sys

import numpy as np
from PIL import Image
from scipy import ndimage

import gi
gi.require_version("Pango", "1.0")
gi.require_version("PangoCairo", "1.0")
from gi.repository import Pango, PangoCairo  # noqa: E402
import cairo  # noqa: E402

EVAL_SEED = 770000
REAL_SEED = 880000
# (class, family, styles): the held-out families (fonts-noto-core,
# fonts-noto-mono, fonts-lato, fonts-linuxlibertine, fonts-ebgaramond).
EVAL_FONTS = [
    ("serif", "Noto Serif", "RBI"), ("serif", "Linux Libertine O", "RBI"),
    ("serif", "EB Garamond 12", "RBI"),
    ("sans", "Noto Sans", "RBI"), ("sans", "Lato", "RBI"), ("sans", "Linux Biolinum O", "RBI"),
    ("mono", "Noto Sans Mono", "RB"),
]
STYLE = {"R": "", "B": " Bold", "I": " Italic"}
TEXT_FILES = sorted(os.path.join("/usr/share/common-licenses", f)
                    for f in os.listdir("/usr/share/common-licenses")) + [
    "/usr/share/doc/%s/copyright" % p for p in
    ("base-files", "bash", "coreutils", "tar", "grep", "sed", "gzip", "dpkg", "util-linux")]
KINDS = ["gaussian", "speckle", "saltpepper", "blurnoise", "stains", "folds", "bleed",
         "light", "faded", "jpeg"]


def check_fonts():
    """Every evaluation family must be installed: fontconfig would silently
    fall back to a training font otherwise."""
    have = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    fams = {f.strip() for line in have.splitlines() for f in line.split(",")}
    missing = [f for _, f, _ in EVAL_FONTS if f not in fams]
    if missing:
        sys.exit("evalgen: fonts missing: %s (apt-get install fonts-noto-core fonts-noto-mono "
                 "fonts-lato fonts-linuxlibertine fonts-ebgaramond)" % ", ".join(missing))


def paragraphs():
    """Prose paragraphs (mostly letters, 150..900 characters) of TEXT_FILES."""
    out = []
    for path in TEXT_FILES:
        if not os.path.exists(path):
            continue
        raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
        for p in re.split(r"\n\s*\n", raw.decode("utf-8", "replace")):
            p = " ".join(p.split())
            letters = sum(c.isalpha() or c == " " for c in p)
            if 150 <= len(p) <= 900 and letters > 0.85 * len(p) and "http" not in p:
                out.append(p)
    if len(out) < 50:
        sys.exit("evalgen: too little text in /usr/share/common-licenses and /usr/share/doc")
    return out


def _lines(lay, text):
    """The text of each laid-out line."""
    b = text.encode("utf-8")
    return [b[ln.start_index:ln.start_index + ln.length].decode("utf-8").strip()
            for ln in lay.get_lines_readonly()]


class Canvas:
    """An A8 cairo surface of ink coverage (0 paper .. 1 ink) at a dpi."""

    def __init__(self, w, h, dpi):
        self.w, self.h, self.dpi = w, h, dpi
        self.surf = cairo.ImageSurface(cairo.FORMAT_A8, w, h)
        self.ctx = cairo.Context(self.surf)
        fo = cairo.FontOptions()
        fo.set_antialias(cairo.ANTIALIAS_GRAY)
        fo.set_hint_style(cairo.HINT_STYLE_NONE)
        fo.set_hint_metrics(cairo.HINT_METRICS_OFF)
        PangoCairo.context_set_font_options(PangoCairo.create_context(self.ctx), fo)
        self.fo = fo

    def text(self, x, y, text, font, pt, width_px, justify=False):
        """Draws wrapped text at (x, y); returns (lines, height in px)."""
        lay = PangoCairo.create_layout(self.ctx)
        pctx = lay.get_context()
        PangoCairo.context_set_resolution(pctx, self.dpi)
        PangoCairo.context_set_font_options(pctx, self.fo)
        lay.context_changed()
        lay.set_font_description(Pango.FontDescription.from_string("%s %g" % (font, pt)))
        lay.set_width(int(width_px * Pango.SCALE))
        lay.set_wrap(Pango.WrapMode.WORD)
        lay.set_justify(justify)
        lay.set_text(text, -1)
        self.ctx.move_to(x, y)
        self.ctx.set_source_rgba(0, 0, 0, 1)
        PangoCairo.show_layout(self.ctx, lay)
        return _lines(lay, text), lay.get_pixel_size()[1]

    def coverage(self):
        self.surf.flush()
        a = np.ndarray((self.h, self.surf.get_stride()), np.uint8, self.surf.get_data())
        return a[:, :self.w].astype(np.float32) / 255.0


def pick_font(rng, cls=None):
    pool = [f for f in EVAL_FONTS if cls is None or f[0] == cls]
    c, fam, styles = pool[int(rng.integers(len(pool)))]
    return c, fam, styles


def fit(p, font, pt, width, justify, dpi, avail):
    """The longest word prefix of paragraph p (cut by fifths) whose layout is
    at most avail px tall, or "" when not even a line fits."""
    words = p.split()
    n = len(words)
    while n >= 4:
        q = " ".join(words[:n])
        if Canvas(width, 8, dpi).text(0, 0, q, font, pt, width, justify)[1] <= avail:
            return q
        n = int(n * 0.8)
    return ""


def text_block(rng, paras, dpi, pt, w_in, h_in, cls=None, columns=None):
    """Clean page (float, 1 = paper) and its reference lines."""
    w, h = int(w_in * dpi), int(h_in * dpi)
    cv = Canvas(w, h, dpi)
    c, fam, styles = pick_font(rng, cls)
    body = fam + STYLE[styles[int(rng.integers(len(styles)))] if rng.random() < 0.3 else "R"]
    bold = fam + STYLE["B"]
    margin = int(0.25 * dpi)
    ncol = columns or (2 if rng.random() < 0.3 else 1)
    gap = int(0.25 * dpi)
    colw = (w - 2 * margin - (ncol - 1) * gap) // ncol
    justify = bool(rng.random() < 0.5)
    lines, y = [], margin
    head = " ".join(paras[int(rng.integers(len(paras)))].split()[:int(rng.integers(3, 7))])
    got, hh = cv.text(margin, y, head.rstrip(".,;:"), bold, pt * 1.3, w - 2 * margin)
    lines += got
    y += hh + int(0.4 * pt / 72 * dpi)
    top = y
    for col in range(ncol):
        x, y = margin + col * (colw + gap), top
        while y < h - margin - 2 * pt / 72 * dpi:
            p = fit(paras[int(rng.integers(len(paras)))], body, pt, colw, justify, dpi,
                    h - margin - y)
            if not p:
                break
            got, ph = cv.text(x, y, p, body, pt, colw, justify)
            lines += got
            y += ph + int(0.5 * pt / 72 * dpi)
    ink = float(rng.uniform(0.0, 0.2))
    paper = float(rng.uniform(0.9, 1.0))
    page = paper - cv.coverage() * (paper - ink)
    # Reading regions (x0, y0, x1, y1), in the reference's order: the heading,
    # then each column.  OCR reads them apart, so that layout analysis running
    # two columns together does not count as the cleaner's error.
    regions = [(0, 0, w, top)] + [(margin + c * (colw + gap) - gap // 2, top,
                                   margin + c * (colw + gap) + colw + gap // 2, h)
                                  for c in range(ncol)]
    return page, lines, dict(font=body, size=pt, dpi=dpi, columns=ncol,
                             regions=regions if ncol > 1 else None)


def slide(rng, paras, dpi, w_in, h_in):
    """A slide: a dark title on a light ground over a dark panel whose text is
    light (the white-on-dark case dae-filter must not invert wrongly)."""
    w, h = int(w_in * dpi), int(h_in * dpi)
    _, fam, _ = pick_font(rng, "sans")
    title_cv, panel_cv = Canvas(w, h, dpi), Canvas(w, h, dpi)
    m = int(0.3 * dpi)
    head = " ".join(paras[int(rng.integers(len(paras)))].split()[:5]).rstrip(".,;:")
    tl, th = title_cv.text(m, m, head, fam + " Bold", 20, w - 2 * m)
    top = m + th + int(0.2 * dpi)
    lines = list(tl)
    y = top + int(0.2 * dpi)
    pt = float(rng.choice([12, 14, 16]))
    for _ in range(6):
        p = " ".join(paras[int(rng.integers(len(paras)))].split()[:int(rng.integers(8, 16))])
        p = fit(p, fam, pt, w - 4 * m, False, dpi, h - 2 * m - y)
        if not p:
            break
        got, ph = panel_cv.text(2 * m, y, p, fam, pt, w - 4 * m)
        lines += got
        y += ph + int(0.15 * dpi)
    bg, panel = float(rng.uniform(0.92, 1.0)), float(rng.uniform(0.1, 0.3))
    fg_title, fg_panel = float(rng.uniform(0.0, 0.15)), float(rng.uniform(0.9, 1.0))
    page = np.full((h, w), bg, np.float32)
    page[top:h - m, m:w - m] = panel
    page = page - title_cv.coverage() * (page - fg_title)
    page = page + panel_cv.coverage() * (fg_panel - page)
    return page, lines, dict(font=fam, size=pt, dpi=dpi, columns=1)


# ---------------------------------------------------------------------------
# Everyday pages besides prose (issue 14's "receipts, forms, tables,
# screenshots"): their words are the held-out texts' words, their numbers
# drawn; each returns (page, reference lines, meta) like text_block().

MONO = "Noto Sans Mono"


def words_of(paras):
    """The held-out texts' words of 3-10 letters, in order of appearance."""
    seen, out = set(), []
    for p in paras:
        for w in p.split():
            w = w.strip(".,;:()\"'")
            if 3 <= len(w) <= 10 and w.isalpha() and w.lower() not in seen:
                seen.add(w.lower())
                out.append(w)
    return out


def _pick(rng, words, n):
    return [words[int(rng.integers(len(words)))] for _ in range(n)]


def _ink(cv, page, colour):
    """page (h x w, or h x w x 3) with cv's coverage drawn in colour."""
    a = cv.coverage()
    if page.ndim == 3:
        a = a[..., None]
    return page + a * (np.asarray(colour, np.float32) - page)


def receipt(rng, words, dpi):
    """A till receipt: 80 mm wide, monospace lines of items and prices,
    thermal print (grey ink on off-white paper)."""
    pt, cols = float(rng.choice([8, 9])), 30
    lh = int(pt * 1.4 / 72 * dpi)
    items = [(" ".join(_pick(rng, words, int(rng.integers(1, 3)))).upper()[:cols - 9],
              float(rng.uniform(0.5, 60))) for _ in range(int(rng.integers(8, 17)))]
    total = sum(v for _, v in items)
    tax = round(total * 0.08, 2)
    lines = [" ".join(_pick(rng, words, 2)).upper()[:cols],
             "%d %s STREET" % (rng.integers(1, 999), _pick(rng, words, 1)[0].upper()),
             "%02d/%02d/2026 %02d:%02d" % (rng.integers(1, 13), rng.integers(1, 29),
                                          rng.integers(7, 22), rng.integers(0, 60)), ""]
    lines += ["%-*s%9.2f" % (cols - 9, n, v) for n, v in items]
    lines += ["", "%-*s%9.2f" % (cols - 9, "SUBTOTAL", total),
              "%-*s%9.2f" % (cols - 9, "TAX", tax),
              "%-*s%9.2f" % (cols - 9, "TOTAL", total + tax), "", "THANK YOU"]
    w, m = int(3.15 * dpi), int(0.2 * dpi)
    h = 2 * m + lh * len(lines)
    cv = Canvas(w, h, dpi)
    for i, ln in enumerate(lines):
        cv.text(m, m + i * lh, ln, MONO + (" Bold" if ln.startswith("TOTAL") else ""), pt, w)
    paper = float(rng.uniform(0.9, 0.97))
    page = _ink(cv, np.full((h, w), paper, np.float32), float(rng.uniform(0.2, 0.45)))
    return page, [ln for ln in lines if ln], dict(font=MONO, size=pt, dpi=dpi, columns=1)


def form(rng, words, dpi):
    """A filled-in form: a title, labelled boxes with typed entries, a row of
    check boxes (some crossed) and a signature rule."""
    w, h, m = int(8.0 * dpi), int(5.5 * dpi), int(0.4 * dpi)
    _, fam, _ = pick_font(rng, "sans")
    cv, fill = Canvas(w, h, dpi), Canvas(w, h, dpi)
    title = " ".join(_pick(rng, words, 3)).upper()
    lines = [title]
    y = m + cv.text(m, m, title, fam + " Bold", 14, w - 2 * m)[1] + int(0.2 * dpi)
    box_x, row = m + int(2.0 * dpi), int(0.42 * dpi)
    cv.ctx.set_line_width(max(1.0, dpi / 150))
    for _ in range(int(rng.integers(4, 7))):
        label = " ".join(_pick(rng, words, int(rng.integers(1, 3)))).capitalize() + ":"
        entry = " ".join(_pick(rng, words, int(rng.integers(1, 4))))
        if rng.random() < 0.3:
            entry += " %d" % rng.integers(10, 99999)
        cv.text(m, y + int(0.06 * dpi), label, fam, 10, box_x - m)
        cv.ctx.rectangle(box_x, y, w - m - box_x, row - int(0.08 * dpi))
        cv.ctx.stroke()
        fill.text(box_x + int(0.08 * dpi), y + int(0.05 * dpi), entry, MONO, 10, w - m - box_x)
        lines.append(label + " " + entry)
        y += row
    y += int(0.1 * dpi)
    x, checks, side = m, [], int(0.14 * dpi)
    for word in _pick(rng, words, 4):
        cv.ctx.rectangle(x, y + int(0.04 * dpi), side, side)
        cv.ctx.stroke()
        if rng.random() < 0.5:  # crossed
            fill.ctx.set_line_width(max(1.0, dpi / 150))
            fill.ctx.move_to(x, y + int(0.04 * dpi)); fill.ctx.rel_line_to(side, side)
            fill.ctx.move_to(x + side, y + int(0.04 * dpi)); fill.ctx.rel_line_to(-side, side)
            fill.ctx.stroke()
        cv.text(x + side + int(0.08 * dpi), y, word, fam, 10, int(1.5 * dpi))
        checks.append(word)
        x += int(1.8 * dpi)
    lines.append(" ".join(checks))
    y += int(0.6 * dpi)
    cv.ctx.move_to(m, y); cv.ctx.line_to(m + int(3 * dpi), y); cv.ctx.stroke()
    cv.text(m, y + int(0.05 * dpi), "Signature", fam, 9, int(2 * dpi))
    lines.append("Signature")
    paper = float(rng.uniform(0.92, 1.0))
    page = _ink(cv, np.full((h, w), paper, np.float32), float(rng.uniform(0.0, 0.2)))
    page = _ink(fill, page, float(rng.uniform(0.05, 0.3)))
    return page, lines, dict(font=fam, size=10, dpi=dpi, columns=1)


def table(rng, words, dpi):
    """A ruled table: a bold header row over rows of words and figures,
    every other row shaded."""
    _, fam, _ = pick_font(rng, "serif" if rng.random() < 0.5 else "sans")
    ncol, nrow = int(rng.integers(3, 6)), int(rng.integers(8, 15))
    pt = float(rng.choice([9, 10, 11]))
    rh, m = int(pt * 2.0 / 72 * dpi), int(0.3 * dpi)
    w = int(7.5 * dpi)
    h = 2 * m + rh * (nrow + 1)
    cw = (w - 2 * m) // ncol
    shade = np.ones((h, w), np.float32)
    cv = Canvas(w, h, dpi)
    cv.ctx.set_line_width(max(1.0, dpi / 200))
    lines = []
    for r in range(nrow + 1):
        y = m + r * rh
        if r % 2 == 0 and r > 0:
            shade[y:y + rh, m:w - m] = float(rng.uniform(0.85, 0.93))
        cells = []
        for c in range(ncol):
            if r == 0:
                t = _pick(rng, words, 1)[0].capitalize()
            elif c == 0:
                t = " ".join(_pick(rng, words, int(rng.integers(1, 3))))
            else:
                t = "%.*f" % (int(rng.integers(0, 3)), rng.uniform(0, 10 ** rng.integers(1, 5)))
            cv.text(m + c * cw + int(0.06 * dpi), y + int(0.25 * pt / 72 * dpi), t,
                    fam + (" Bold" if r == 0 else ""), pt, cw - int(0.1 * dpi))
            cells.append(t)
        lines.append(" ".join(cells))
        cv.ctx.move_to(m, y); cv.ctx.line_to(w - m, y); cv.ctx.stroke()
    cv.ctx.move_to(m, h - m); cv.ctx.line_to(w - m, h - m); cv.ctx.stroke()
    if rng.random() < 0.5:  # column rules
        for c in range(ncol + 1):
            cv.ctx.move_to(m + c * cw, m); cv.ctx.line_to(m + c * cw, h - m); cv.ctx.stroke()
    paper = float(rng.uniform(0.93, 1.0))
    page = _ink(cv, shade * paper, float(rng.uniform(0.0, 0.15)))
    return page, lines, dict(font=fam, size=pt, dpi=dpi, columns=ncol)


def screen(rng, paras, words, dpi):
    """A colour screenshot at screen resolution: a dark title bar, a tinted
    side bar of menu words, prose on white, a line of link-blue words."""
    w, h = int(rng.choice([1024, 1280])), int(rng.choice([640, 800]))
    _, fam, _ = pick_font(rng, "sans")
    bar, side = int(0.4 * dpi), int(rng.uniform(1.8, 2.4) * dpi)
    page = np.ones((h, w, 3), np.float32) * float(rng.uniform(0.96, 1.0))
    page[:bar] = rng.uniform(0.1, 0.35, 3)
    page[bar:, :side] = rng.uniform(0.85, 0.95, 3)
    title = Canvas(w, h, dpi)
    head = " ".join(_pick(rng, words, 3))
    lines = title.text(int(0.15 * dpi), int(0.1 * dpi), head, fam + " Bold", 11, w)[0]
    page = _ink(title, page, (0.97, 0.97, 0.97))
    menu, y = Canvas(w, h, dpi), bar + int(0.2 * dpi)
    for word in _pick(rng, words, int(rng.integers(6, 10))):
        menu.text(int(0.15 * dpi), y, word.capitalize(), fam, 10, side)
        lines.append(word.capitalize())
        y += int(0.32 * dpi)
    page = _ink(menu, page, (0.15, 0.15, 0.2))
    body, link = Canvas(w, h, dpi), Canvas(w, h, dpi)
    x, y, bw = side + int(0.25 * dpi), bar + int(0.2 * dpi), w - side - int(0.5 * dpi)
    while y < h - int(0.8 * dpi):
        p = fit(paras[int(rng.integers(len(paras)))], fam, 10, bw, False, dpi,
                h - int(0.8 * dpi) - y)
        if not p:
            break
        got, ph = body.text(x, y, p, fam, 10, bw)
        lines += got
        y += ph + int(0.12 * dpi)
    links = " ".join(_pick(rng, words, 5))
    lines += link.text(x, y + int(0.1 * dpi), links, fam, 10, bw)[0]
    page = _ink(body, page, (0.1, 0.1, 0.1))
    page = _ink(link, page, (0.05, 0.3, 0.8))
    return page, lines, dict(font=fam, size=10, dpi=dpi, columns=1)


# ---------------------------------------------------------------------------
# Damage: page is float, 1 = white; strength s in 0..1; px = dpi / 300.


def _smooth_field(rng, shape, scale):
    """Low-frequency noise in 0..1 (a random field blurred to `scale` px)."""
    small = (max(2, shape[0] // 16), max(2, shape[1] // 16))
    f = ndimage.gaussian_filter(rng.standard_normal(small), scale / 16)
    f = np.array(Image.fromarray(f.astype(np.float32)).resize(shape[::-1], Image.BILINEAR))
    f -= f.min()
    return f / max(f.max(), 1e-6)


def d_gaussian(rng, p, s, px):
    return p + rng.normal(0, 0.05 + 0.30 * s, p.shape)


def d_speckle(rng, p, s, px):
    """Dust and toner specks: dark blobs of 1-4 px at 300 dpi."""
    n = int(p.size * (2e-4 + 2e-3 * s) / px ** 2)
    m = np.zeros(p.shape, np.float32)
    ys, xs = rng.integers(0, p.shape[0], n), rng.integers(0, p.shape[1], n)
    m[ys, xs] = rng.uniform(0.5, 1.0, n)
    m = ndimage.grey_dilation(m, size=(2, 2)) if rng.random() < 0.5 else m
    m = np.clip(ndimage.gaussian_filter(m, 0.6 * px) * 3, 0, 1)
    return p * (1 - m) + rng.normal(0, 0.03, p.shape) * s


def d_saltpepper(rng, p, s, px):
    f = 0.01 + 0.14 * s
    r = rng.random(p.shape)
    q = p.copy()
    q[r < f / 2] = 0.0
    q[(r >= f / 2) & (r < f)] = 1.0
    return q


def d_blurnoise(rng, p, s, px):
    return ndimage.gaussian_filter(p, (0.6 + 1.2 * s) * px) + rng.normal(0, 0.03 + 0.12 * s,
                                                                        p.shape)


def d_stains(rng, p, s, px):
    """Coffee stains: soft blotches darker at their rim."""
    h, w = p.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = p.copy()
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.15, 0.45) * min(h, w)
        d = np.sqrt(((yy - cy) / rng.uniform(0.7, 1.3)) ** 2 + (xx - cx) ** 2) / r
        d += 0.15 * (_smooth_field(rng, p.shape, 40 * px) - 0.5)
        body = np.clip(1 - d, 0, 1) ** 0.3 * 0.5
        rim = np.exp(-((d - 1) / 0.04) ** 2)
        dark = (0.15 + 0.45 * s) * np.clip(body + rim, 0, 1)
        out = out * (1 - dark)
    return out


def d_folds(rng, p, s, px):
    """A crease across the page: a shadow band with a bright edge, and the
    paper beside it shaded."""
    h, w = p.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(-0.3, 0.3) + (np.pi / 2 if rng.random() < 0.5 else 0)
    c = (rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w)
    d = (yy - c[0]) * np.cos(ang) - (xx - c[1]) * np.sin(ang)
    width = (3 + 6 * s) * px
    shadow = (0.25 + 0.45 * s) * np.exp(-(d / width) ** 2)
    light = 0.1 * s * np.exp(-((d - 2 * width) / width) ** 2)
    side = (0.05 + 0.15 * s) * (d > 0) * np.exp(-np.abs(d) / (80 * px))
    return p * (1 - shadow - side) + light


def d_bleed(rng, p, s, px, other=None):
    """Bleed-through: the other side's text, mirrored and blurred."""
    if other is None:  # the page itself, shifted by half a line
        other = np.roll(p, int(rng.integers(15, 40) * px), axis=0)
    back = ndimage.gaussian_filter(1 - other[:, ::-1], 1.2 * px)
    return p - (0.1 + 0.35 * s) * back * p


def d_light(rng, p, s, px):
    """Uneven light: a dark corner or edge, smooth."""
    h, w = p.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.choice([0, h]), rng.choice([0, w])
    d = np.sqrt(((yy - cy) / h) ** 2 + ((xx - cx) / w) ** 2) / np.sqrt(2)
    return p * (1 - (0.25 + 0.45 * s) * np.clip(1 - d, 0, 1) ** 2) * (
        1 - 0.1 * s * _smooth_field(rng, p.shape, 60 * px))


def d_faded(rng, p, s, px):
    """Faded ink: less contrast, thinner strokes, a little grain."""
    paper = float(np.percentile(p, 90))
    q = np.clip(ndimage.grey_dilation(p, size=(2, 2)) if s > 0.5 else p, 0, 1)
    c = 0.6 - 0.45 * s
    return paper - (paper - q) * c + rng.normal(0, 0.02, p.shape)


def d_jpeg(rng, p, s, px):
    q = int(round(50 - 40 * s))
    buf = io.BytesIO()
    Image.fromarray(to_u8(p)).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(buf), dtype=np.float32) / 255.0


DAMAGE = dict(gaussian=d_gaussian, speckle=d_speckle, saltpepper=d_saltpepper,
              blurnoise=d_blurnoise, stains=d_stains, folds=d_folds, bleed=d_bleed,
              light=d_light, faded=d_faded, jpeg=d_jpeg)


def damage(rng, page, dpi, kinds, strengths):
    """The page after each kind in turn (JPEG last: it is the file)."""
    px = dpi / 300.0
    order = sorted(zip(kinds, strengths), key=lambda k: k[0] == "jpeg")
    for k, s in order:
        page = np.clip(DAMAGE[k](rng, page.astype(np.float32), s, px), 0, 1)
    return page.astype(np.float32)


def scan_like(rng, page, dpi):
    """Mild damage of an ordinary office scan: a little blur, sensor noise,
    light falling off towards a corner, and JPEG at quality 60-80."""
    px = dpi / 300.0
    p = ndimage.gaussian_filter(page, 0.5 * px) + rng.normal(0, 0.03, page.shape)
    p = d_light(rng, np.clip(p, 0, 1), 0.0, px)
    return d_jpeg(rng, np.clip(p, 0, 1).astype(np.float32), float(rng.uniform(-0.75, -0.25)), px)


def to_u8(p):
    return np.clip(np.rint(p * 255), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=3, help="pages per kind")
    ap.add_argument("--dpi", type=int, default=300)
    a = ap.parse_args()
    check_fonts()
    os.makedirs(a.out, exist_ok=True)
    paras = paragraphs()
    for k, kind in enumerate(["clean"] + KINDS + ["slide"]):
        for i in range(a.n):
            rng = np.random.default_rng([EVAL_SEED, 99, k, i])
            if kind == "slide":
                page, lines, meta = slide(rng, paras, a.dpi, 6.0, 3.5)
            else:
                page, lines, meta = text_block(rng, paras, a.dpi, 10.0, 5.5, 2.6)
            if kind not in ("clean", "slide"):
                page = damage(rng, page, a.dpi, [kind], [(i + 0.5) / a.n])
            name = os.path.join(a.out, "%s-%d" % (kind, i))
            Image.fromarray(to_u8(page)).save(name + ".png")
            with open(name + ".txt", "w") as f:
                f.write("\n".join(lines) + "\n")
            print(name, meta)


if __name__ == "__main__":
    main()
