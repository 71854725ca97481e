"""photogen: freely licensed photographs shipped in Debian, and camera noise.

Shared by tools/make-photo-data (training patches) and tools/bench-photo
(held-out evaluation).  Images are converted to gray with BT.601 luma
(what dae-filter denoises in a colour image with --color luma) and scaled to
[0,1].

Sources (package: file, license as its documentation states):
  python3-skimage (skimage/data/):
    astronaut.png   Eileen Collins, NASA; public domain
    camera.png      cameraman, Lav Varshney; CC0
    chelsea.png     a cat, Stefan van der Walt; CC0
    coffee.png      a cup of coffee, Rachel Michetti; CC0
    coins.png       Greek coins, Brooklyn Museum; no known copyright restrictions
    rocket.png      Falcon 9 launch, SpaceX; public domain (CC0)
    brick.png, gravel.png   textures from CC0Textures; CC0
    grass.png       texture by linolafett (DeviantArt); CC0
    retina.jpg      fundus photograph (Wikimedia Commons); CC0
    ihc.png         immunohistochemistry sample; no known copyright restrictions
  python3-scipy (scipy/misc/):
    face.dat        a raccoon (public-domain-image.com); public domain
    ascent.dat      people on stairs (public-domain-image.com); public domain

HELD_OUT images never give a training patch; tools/bench-photo scores on them.
"""

import bz2
import os
import pickle

import numpy as np
from PIL import Image

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
SCIPY_MISC = "/usr/lib/python3/dist-packages/scipy/misc"

TRAIN = ["astronaut.png", "coffee.png", "coins.png", "brick.png", "grass.png",
         "gravel.png", "retina.jpg", "ihc.png", "face.dat"]
HELD_OUT = ["camera.png", "chelsea.png", "rocket.jpg", "ascent.dat"]


def load_gray(name):
    """The image as float32 gray in [0,1]."""
    if name == "face.dat":
        with open(os.path.join(SCIPY_MISC, name), "rb") as f:
            raw = np.frombuffer(bz2.decompress(f.read()), dtype=np.uint8)
        rgb = raw.reshape(768, 1024, 3).astype(np.float32)
        g = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        return (g / 255.0).astype(np.float32)
    if name == "ascent.dat":
        with open(os.path.join(SCIPY_MISC, name), "rb") as f:
            a = np.array(pickle.load(f), dtype=np.float32)
        return a / 255.0
    path = os.path.join(SKIMAGE, name)
    if not os.path.exists(path):
        raise SystemExit("photogen: %s is missing (apt-get install python3-skimage)" % path)
    im = Image.open(path)
    if im.mode in ("RGBA", "P", "LA"):
        im = im.convert("RGB")
    a = np.asarray(im, dtype=np.float32)
    if a.ndim == 3:
        a = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    return (a / 255.0).astype(np.float32)


def add_noise(rng, x, kind, level):
    """kind 'gaussian': sigma = level; 'poisson': Poisson with `level`
    photons at white, plus read noise of sigma 0.01.  Clipped to [0,1]."""
    if kind == "gaussian":
        y = x + level * rng.standard_normal(x.shape, dtype=np.float32)
    elif kind == "poisson":
        y = rng.poisson(np.maximum(x, 0) * level).astype(np.float32) / level
        y += 0.01 * rng.standard_normal(x.shape, dtype=np.float32)
    else:
        raise ValueError(kind)
    return np.clip(y, 0.0, 1.0).astype(np.float32)


def realistic_noise(rng, x, max_level=60.0 / 255):
    """Training noise of stage 2 (issue 15): the noise's level at mid-gray,
    s, uniform in 0-max_level, and one of four kinds:
      35% Gaussian of sigma s;
      25% Poisson-Gaussian: a share f (0.3-1) of the variance from photon
          counts (0.5 f / s^2 photons at white), the rest read noise;
      20% spatially correlated: white Gaussian noise blurred by a Gaussian of
          sigma 0.4-1.2 pixels (demosaicking and resampling spread noise),
          rescaled to standard deviation s;
      20% Gaussian or Poisson-Gaussian as above, rounded to 8 bits, then
          JPEG at quality 60-95.
    x: float32 gray in [0,1] (8-bit values); returns float32 in [0,1], the
    JPEG case already 8-bit."""
    s = float(rng.uniform(0.0, max_level))
    u = rng.random()
    if u < 0.35 or s < 0.5 / 255:  # (Poisson of ~1e9 photons would overflow)
        y = x + s * rng.standard_normal(x.shape, dtype=np.float32)
    elif u < 0.6 or u >= 0.8:
        f = float(rng.uniform(0.3, 1.0))
        photons = 0.5 / (f * s * s)
        y = rng.poisson(np.maximum(x, 0) * photons).astype(np.float32) / photons
        y += np.sqrt(1.0 - f) * s * rng.standard_normal(x.shape, dtype=np.float32)
    else:
        import cv2
        pad = 4
        w = rng.standard_normal((x.shape[0] + 2 * pad, x.shape[1] + 2 * pad),
                                dtype=np.float32)
        b = cv2.GaussianBlur(w, (0, 0), float(rng.uniform(0.4, 1.2)))[pad:-pad, pad:-pad]
        y = x + s * b / max(float(b.std()), 1e-6)
    y = np.clip(y, 0.0, 1.0).astype(np.float32)
    if u >= 0.8:
        import cv2
        q = int(rng.integers(60, 96))
        y8 = np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", y8, [cv2.IMWRITE_JPEG_QUALITY, q])
        y = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
    return y


def random_noise(rng, x):
    """Training noise: half Gaussian with sigma in 0.01-0.2 (2.5-51 in 8
    bits), half Poisson-like with 4-200 photons at white (log-uniform)."""
    if rng.random() < 0.5:
        return add_noise(rng, x, "gaussian", float(rng.uniform(0.01, 0.2)))
    return add_noise(rng, x, "poisson", float(np.exp(rng.uniform(np.log(4), np.log(200)))))
