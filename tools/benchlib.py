"""benchlib: what tools/bench-photo, bench-real and bench-ocr share.

Finding the dae-filter to measure (never an ASan build unless asked), running
it as a user would, scores, and the result caches: each bench keeps one TSV
of rows per method, so that a re-run measures only what is missing (say, the
dae-filter column after a new build) and reuses the classical tools' rows.
"""

import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared", "data")


def sanitized(build_dir):
    """True when the meson build dir was configured with a sanitizer."""
    info = os.path.join(build_dir, "meson-info", "intro-buildoptions.json")
    try:
        with open(info) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return "asan" in os.path.basename(build_dir)
    return opts.get("b_sanitize", "none") not in ("none", "")


def find_dae_filter(given=None):
    """The dae-filter to measure: --filter, $DAE_FILTER, this tree's newest
    non-sanitized build*/filter/dae-filter, then $PATH.  An ASan build is
    several times slower and would skew every time column."""
    prog = given or os.environ.get("DAE_FILTER")
    if not prog:
        cands = [c for c in glob.glob(os.path.join(ROOT, "build*", "filter", "dae-filter"))
                 if os.access(c, os.X_OK) and not sanitized(os.path.dirname(os.path.dirname(c)))]
        prog = max(cands, key=os.path.getmtime) if cands else shutil.which("dae-filter")
    if prog and os.path.abspath(prog).startswith(ROOT + os.sep):
        # An uninstalled build finds this tree's models through
        # DAE_MODEL_PATH alone (no path of the tree is compiled in).
        old = os.environ.get("DAE_MODEL_PATH")
        os.environ["DAE_MODEL_PATH"] = os.path.join(ROOT, "weights") + (":" + old if old else "")
    return prog


def filter_label(prog, args):
    """How a table names the invocation it measured."""
    rel = os.path.relpath(prog, ROOT) if prog.startswith(ROOT) else prog
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    at = " built from commit %s" % r.stdout.strip() if r.returncode == 0 and \
        prog.startswith(ROOT) else ""
    if args:
        return "`%s %s`%s" % (rel, " ".join(args), at)
    return "`%s` (the default invocation: no -m, no flags)%s" % (rel, at)


def run_filter(prog, args, src, dst, threads=None):
    """dae-filter ARGS < src > dst, as a pipeline user would run it."""
    cmd = [prog] + list(args) + ["-q"]
    if threads:
        cmd += ["-j", str(threads)]
    with open(src, "rb") as fi, open(dst + ".part", "wb") as fo:
        r = subprocess.run(cmd, stdin=fi, stdout=fo, stderr=subprocess.PIPE)
    if r.returncode != 0:
        os.unlink(dst + ".part")
        raise RuntimeError("%s failed on %s: %s" % (" ".join(cmd), src,
                                                      r.stderr.decode(errors="replace").strip()))
    os.replace(dst + ".part", dst)


def psnr8(a, b):
    """PSNR in dB of two 8-bit arrays on the 0..255 scale."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


class Cache:
    """Rows keyed by their first `nkey` columns, in one TSV file per owner.

    load() reads every file given; save() writes the rows of the methods it
    owns (all rows whose method column is in `methods`) to its file, sorted,
    atomically."""

    def __init__(self, header, nkey):
        self.header = header
        self.nkey = nkey
        self.rows = {}

    def load(self, path):
        if not path or not os.path.exists(path):
            return
        with open(path) as f:
            head = f.readline().rstrip("\n").split("\t")
            if head != self.header:
                sys.exit("%s: columns %s, expected %s (delete it to start over)"
                         % (path, head, self.header))
            for line in f:
                v = line.rstrip("\n").split("\t")
                self.rows[tuple(v[:self.nkey])] = v

    def get(self, key):
        return self.rows.get(tuple(str(k) for k in key))

    def put(self, values):
        v = [str(x) for x in values]
        self.rows[tuple(v[:self.nkey])] = v

    def save(self, path, keep):
        """Writes the rows for which keep(row) is true."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path + ".part", "w") as f:
            f.write("\t".join(self.header) + "\n")
            for k in sorted(self.rows):
                if keep(self.rows[k]):
                    f.write("\t".join(self.rows[k]) + "\n")
        os.replace(path + ".part", path)


def edit_distance(a, b):
    """Levenshtein distance between two sequences of ints."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return max(len(a), len(b))
    j = np.arange(len(b) + 1, dtype=np.int64)
    prev = j.copy()
    for i in range(1, len(a) + 1):
        sub = prev[:-1] + (b != a[i - 1])
        t = np.empty_like(prev)
        t[0] = i
        t[1:] = np.minimum(prev[1:] + 1, sub)
        # Insertions chain left to right: d[j] = min_k (t[k] + j - k).
        prev = np.minimum.accumulate(t - j) + j
    return int(prev[-1])


_NORM = {"\ufb01": "fi", "\ufb02": "fl", "\ufb00": "ff", "\ufb03": "ffi", "\ufb04": "ffl",
         "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": "--",
         "\u2013": "-", "\u2010": "-", "\u00a0": " ", "\u2026": "...", "`": "'"}


def normalise(s):
    """Whitespace runs, typographic quotes, dashes and ligatures made plain."""
    for k, v in _NORM.items():
        s = s.replace(k, v)
    return " ".join(s.split())


def error_counts(ref, hyp):
    """(character errors, characters, word errors, words) of hyp against ref."""
    r, h = normalise(ref), normalise(hyp)
    ce = edit_distance([ord(c) for c in r], [ord(c) for c in h])
    rw, hw = r.split(" "), h.split(" ") if h else []
    vocab = {}
    ids = lambda ws: [vocab.setdefault(w, len(vocab)) for w in ws]  # noqa: E731
    return ce, len(r), edit_distance(ids(rw), ids(hw)), len(rw)


def words(text):
    """Lower-case words of letters and digits (punctuation stripped)."""
    return [w for w in (t.strip(".,;:!?()[]{}\"'*-_/|<>").lower()
                        for t in normalise(text).split(" ")) if any(c.isalnum() for c in w)]


def word_f1(ref, hyp):
    """Bag-of-words F1 of hyp's words against ref's (each word counted as
    often as it occurs): order-free, so reading order and layout analysis
    do not count, only the words read right."""
    from collections import Counter
    r, h = Counter(words(ref)), Counter(words(hyp))
    tp = sum((r & h).values())
    if not r and not h:
        return 1.0
    p = tp / max(1, sum(h.values()))
    q = tp / max(1, sum(r.values()))
    return 0.0 if tp == 0 else 2 * p * q / (p + q)


def tesseract(path, dpi=None, regions=None):
    """tesseract 5's text of an image (eng, default layout analysis, one
    thread: the benches run pages in parallel); with regions, of each
    (x0, y0, x1, y1) crop in turn."""
    if regions:
        from PIL import Image
        im = Image.open(path)
        out = []
        for i, box in enumerate(regions):
            crop = "%s.region%d.png" % (path, i)
            im.crop(box).save(crop)
            out.append(tesseract(crop, dpi))
            os.unlink(crop)
        return "\n".join(out)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    cmd = ["tesseract", path, "-", "-l", "eng"] + (["--dpi", str(dpi)] if dpi else [])
    r = subprocess.run(cmd, capture_output=True, env=env)
    if r.returncode != 0:
        raise RuntimeError("tesseract failed on %s: %s" % (path, r.stderr.decode(errors="replace")))
    return r.stdout.decode("utf-8", "replace")


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def need(tool, package):
    if not shutil.which(tool):
        sys.exit("%s is not installed (apt-get install %s)" % (tool, package))
