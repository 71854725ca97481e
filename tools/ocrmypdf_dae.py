"""ocrmypdf_dae: an OCRmyPDF plugin that cleans each page with dae-filter
before tesseract reads it.

    ocrmypdf --plugin /usr/share/dae/ocrmypdf_dae.py in.pdf out.pdf
    ocrmypdf --plugin tools/ocrmypdf_dae.py --dae-model document in.pdf out.pdf

Only the image that OCR sees is denoised: the output PDF keeps the page
as scanned, with the text layer read from the cleaned image.  (To put the
cleaned pages themselves into the PDF, clean the images first and give them
to OCRmyPDF: see docs/batch.md.)  The dae-filter program is taken from
$DAE_FILTER, else from $PATH.
"""

import io
import os
import shutil
import subprocess

from PIL import Image
from ocrmypdf import hookimpl
from ocrmypdf.exceptions import MissingDependencyError


@hookimpl
def add_options(parser):
    g = parser.add_argument_group("dae", "Denoising with dae-filter before OCR")
    g.add_argument("--dae-model", metavar="NAME",
                   help="dae-filter model name or .dae file (default: auto, the "
                        "document model for pages, the photo model otherwise)")
    g.add_argument("--dae-strength", metavar="S",
                   help="dae-filter --strength, 0..1 or auto (default: auto)")
    g.add_argument("--dae-invert", choices=("auto", "on", "off"),
                   help="dae-filter --invert: auto decides region by region "
                        "(default), on or off force one polarity")
    g.add_argument("--dae-ink-guard", choices=("on", "off"),
                   help="dae-filter --ink-guard: on (default) keeps marks lighter "
                        "than half the ink contrast (bleed-through) from being "
                        "darkened into text")
    g.add_argument("--dae-despeckle", choices=("on", "off"),
                   help="dae-filter --despeckle: on (default) erases isolated "
                        "specks smaller than the page's strokes")
    g.add_argument("--dae-impulse-filter", choices=("on", "off"),
                   help="dae-filter --impulse-filter: on (default) replaces "
                        "salt-and-pepper noise by the 3x3 median first")
    g.add_argument("--dae-soften-bilevel", choices=("on", "off"),
                   help="dae-filter --soften-bilevel: on (default) softens a 1-bit "
                        "page's edges before the model, which learnt on gray scans")


def _program():
    prog = os.environ.get("DAE_FILTER") or shutil.which("dae-filter")
    if not prog:
        raise MissingDependencyError("dae-filter is not installed (or set $DAE_FILTER)")
    return prog


@hookimpl
def check_options(options):
    _program()


@hookimpl
def filter_ocr_image(page, image):
    cmd = [_program(), "-q"]
    if page.options.dae_model:
        cmd += ["-m", page.options.dae_model]
    if page.options.dae_strength is not None:
        cmd += ["--strength", str(page.options.dae_strength)]
    if page.options.dae_invert is not None:
        cmd += ["--invert", page.options.dae_invert]
    if page.options.dae_ink_guard is not None:
        cmd += ["--ink-guard", page.options.dae_ink_guard]
    if page.options.dae_despeckle is not None:
        cmd += ["--despeckle", page.options.dae_despeckle]
    if page.options.dae_impulse_filter is not None:
        cmd += ["--impulse-filter", page.options.dae_impulse_filter]
    if page.options.dae_soften_bilevel is not None:
        cmd += ["--soften-bilevel", page.options.dae_soften_bilevel]
    # Gray is what the document model and tesseract want; PNG keeps it
    # lossless through the pipe.
    buf = io.BytesIO()
    image.convert("L").save(buf, format="PNG")
    out = subprocess.run(cmd, input=buf.getvalue(), stdout=subprocess.PIPE, check=True).stdout
    cleaned = Image.open(io.BytesIO(out))
    cleaned.load()
    if "dpi" in image.info:
        cleaned.info["dpi"] = image.info["dpi"]
    return cleaned
