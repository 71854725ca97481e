"""daemodel: read and write dae model files (.dae, format version 1).

The format is specified in man/dae-model.5; core/model.c is the C reader and
writer.  This module mirrors the C loader's checks, so a file it writes loads
in C and a file it refuses would be refused there too.  It needs only the
standard library and numpy; to_torch() builds the same network in PyTorch
(imported on demand) for the reference scripts.

    import daemodel as dm
    m = dm.Model(1, 28, 28)
    m.add(dm.CONV3X3, dm.RELU, 32)
    ...
    m.params[:] = ...          # float32, layer by layer: weights then bias
    m.metadata["seed"] = "1"
    dm.save(m, "net.dae")
    m2 = dm.load("net.dae")
"""

import hashlib
import os
import struct
import tempfile
import zlib

import numpy as np

MAGIC = b"\x89DAE\r\n\x1a\n"
VERSION = 1

CONV3X3, MAXPOOL2, UPSAMPLE2, CONVT2X2, ADD, CONCAT = 1, 2, 3, 4, 5, 6
NONE, RELU, SIGMOID = 0, 1, 2
INPUT = -1  # the `source` that names the network's input

KIND_NAMES = {CONV3X3: "conv3x3", MAXPOOL2: "maxpool2", UPSAMPLE2: "upsample2",
              CONVT2X2: "convt2x2", ADD: "add", CONCAT: "concat"}
ACT_NAMES = {NONE: "none", RELU: "relu", SIGMOID: "sigmoid"}

# The C loader's limits (core/dae-private.h).
MAX_LAYERS = 256
MAX_CHANNELS = 4096
MAX_PATCH = 4096
MAX_PARAMS = 1 << 28
MAX_META = 1024
MAX_KEY = 255
MAX_VALUE = 1 << 20

HEADER = struct.Struct("<8sIIIIIIQ")  # magic, version, c, h, w, layers, meta, params
LAYER = struct.Struct("<IIIIiI")      # kind, act, ksize, out_c, source, reserved


class DaeFormatError(ValueError):
    """A file or model that the C loader would refuse."""


class Layer:
    __slots__ = ("kind", "act", "out_channels", "source")

    def __init__(self, kind, act=NONE, out_channels=0, source=INPUT):
        self.kind, self.act = kind, act
        self.out_channels, self.source = out_channels, source

    @property
    def ksize(self):
        return {CONV3X3: 3, CONVT2X2: 2}.get(self.kind, 0)

    def __repr__(self):
        s = KIND_NAMES.get(self.kind, "kind%d" % self.kind)
        if self.act:
            s += "," + ACT_NAMES.get(self.act, str(self.act))
        if self.out_channels:
            s += "(%d)" % self.out_channels
        if self.kind in (ADD, CONCAT):
            s += "<-%s" % ("input" if self.source < 0 else self.source)
        return s


class Model:
    """A network: layers, float32 parameters (.dae order) and metadata."""

    def __init__(self, in_channels, patch_h, patch_w):
        self.in_channels, self.patch_h, self.patch_w = in_channels, patch_h, patch_w
        self.layers = []
        self.params = np.zeros(0, dtype=np.float32)
        self.metadata = {}  # insertion order is file order

    def add(self, kind, act=NONE, out_channels=0, source=INPUT):
        """Appends a layer; parameters are resized (new ones are zero)."""
        self.layers.append(Layer(kind, act, out_channels,
                                 source if kind in (ADD, CONCAT) else INPUT))
        try:
            counts = param_counts(self)
            shapes(self)
        except DaeFormatError:
            self.layers.pop()
            raise
        n = sum(w + b for w, b in counts)
        self.params = np.concatenate(
            [self.params, np.zeros(n - self.params.size, dtype=np.float32)])
        return len(self.layers) - 1

    @property
    def n_params(self):
        return sum(w + b for w, b in param_counts(self))

    def layer_params(self, i):
        """(weights, bias) of layer i as views into params (None for none),
        weights shaped [out][in][3][3] (conv3x3) or [in][out][2][2] (convt2x2)."""
        counts = param_counts(self)
        off = sum(w + b for w, b in counts[:i])
        nw, nb = counts[i]
        if nw == 0:
            return None, None
        l = self.layers[i]
        cin = _channels(self, i - 1)
        shape = ((l.out_channels, cin, 3, 3) if l.kind == CONV3X3
                 else (cin, l.out_channels, 2, 2))
        return (self.params[off:off + nw].reshape(shape),
                self.params[off + nw:off + nw + nb])


def _channels(m, index):
    """Output channels of layer `index` (-1: the input); layers before it are
    assumed valid."""
    c = m.in_channels
    chans = []
    for l in m.layers[:index + 1]:
        if l.kind in (CONV3X3, CONVT2X2):
            c = l.out_channels
        elif l.kind == CONCAT:
            c = c + (m.in_channels if l.source < 0 else chans[l.source])
        chans.append(c)
    return chans[index] if index >= 0 else m.in_channels


def param_counts(m):
    """[(n_weights, n_bias)] per layer, checking each layer record the way the
    C loader does (kind, activation, out_channels, source, channel counts)."""
    counts, chans, total = [], [], 0
    for i, l in enumerate(m.layers):
        cin = chans[i - 1] if i else m.in_channels
        name = "layer %d (%s)" % (i, KIND_NAMES.get(l.kind, "?"))
        if not 0 <= l.act <= SIGMOID:
            raise DaeFormatError("layer %d: unknown activation %d" % (i, l.act))
        if l.kind not in KIND_NAMES:
            raise DaeFormatError("layer %d: unknown layer kind %d" % (i, l.kind))
        has_out_c = l.kind in (CONV3X3, CONVT2X2)
        has_source = l.kind in (ADD, CONCAT)
        if has_out_c and not 1 <= l.out_channels <= MAX_CHANNELS:
            raise DaeFormatError("%s: output channels %d out of range 1..%d"
                                 % (name, l.out_channels, MAX_CHANNELS))
        if not has_out_c and l.out_channels != 0:
            raise DaeFormatError("%s: has output channels, expected 0" % name)
        if l.act != NONE and l.kind not in (CONV3X3, CONVT2X2, ADD):
            raise DaeFormatError("%s: takes no activation" % name)
        if has_source and not INPUT <= l.source < i:
            raise DaeFormatError("%s: source %d is not an earlier layer's output"
                                 % (name, l.source))
        if not has_source and l.source != INPUT:
            raise DaeFormatError("%s: has a source, expected none (-1)" % name)
        src_c = (m.in_channels if l.source < 0 else chans[l.source]) if has_source else 0
        nw = nb = 0
        if l.kind == CONV3X3:
            c, nw, nb = l.out_channels, l.out_channels * cin * 9, l.out_channels
        elif l.kind == CONVT2X2:
            c, nw, nb = l.out_channels, cin * l.out_channels * 4, l.out_channels
        elif l.kind == ADD:
            if src_c != cin:
                raise DaeFormatError("%s: %d channels added to %d from source %d"
                                     % (name, src_c, cin, l.source))
            c = cin
        elif l.kind == CONCAT:
            c = cin + src_c
            if c > MAX_CHANNELS:
                raise DaeFormatError("%s: %d channels, more than %d" % (name, c, MAX_CHANNELS))
        else:
            c = cin
        total += nw + nb
        if total > MAX_PARAMS:
            raise DaeFormatError("more than %d parameters" % MAX_PARAMS)
        chans.append(c)
        counts.append((nw, nb))
    return counts


def shapes(m, h=None, w=None):
    """[(c, h, w)] of every layer's output for an h x w input (default: the
    patch size); raises DaeFormatError if skip connections do not meet."""
    param_counts(m)
    inp = (m.in_channels, h or m.patch_h, w or m.patch_w)
    out = []
    for i, l in enumerate(m.layers):
        c, y, x = out[i - 1] if i else inp
        if l.kind == CONV3X3:
            c = l.out_channels
        elif l.kind == MAXPOOL2:
            y, x = (y + 1) // 2, (x + 1) // 2
        elif l.kind in (UPSAMPLE2, CONVT2X2):
            if y > MAX_PATCH or x > MAX_PATCH:
                raise DaeFormatError("layer %d (%s): output larger than %dx%d"
                                     % (i, KIND_NAMES[l.kind], 2 * MAX_PATCH, 2 * MAX_PATCH))
            if l.kind == CONVT2X2:
                c = l.out_channels
            y, x = 2 * y, 2 * x
        else:
            sc, sy, sx = inp if l.source < 0 else out[l.source]
            if (sy, sx) != (y, x):
                raise DaeFormatError("layer %d (%s): joins %dx%d with %dx%d from source %d"
                                     % (i, KIND_NAMES[l.kind], x, y, sx, sy, l.source))
            if l.kind == CONCAT:
                c = c + sc
        out.append((c, y, x))
    return out


def validate(m):
    """Raises DaeFormatError unless m is a complete, savable model."""
    if not 1 <= m.in_channels <= MAX_CHANNELS:
        raise DaeFormatError("input channels %d out of range 1..%d" % (m.in_channels, MAX_CHANNELS))
    if not (1 <= m.patch_h <= MAX_PATCH and 1 <= m.patch_w <= MAX_PATCH):
        raise DaeFormatError("patch size %dx%d out of range 1..%d" % (m.patch_w, m.patch_h, MAX_PATCH))
    if not 1 <= len(m.layers) <= MAX_LAYERS:
        raise DaeFormatError("layer count %d out of range 1..%d" % (len(m.layers), MAX_LAYERS))
    out = shapes(m)[-1]
    if out != (m.in_channels, m.patch_h, m.patch_w):
        raise DaeFormatError("output shape %dx%dx%d differs from input shape %dx%dx%d"
                             % (out[1], out[2], out[0], m.patch_h, m.patch_w, m.in_channels))
    if m.params.dtype != np.float32 or m.params.size != m.n_params:
        raise DaeFormatError("params must be %d float32 values" % m.n_params)
    if not np.all(np.isfinite(m.params)):
        raise DaeFormatError("parameter %d is not a finite number"
                             % int(np.argmin(np.isfinite(m.params))))
    if len(m.metadata) > MAX_META:
        raise DaeFormatError("metadata count %d exceeds %d" % (len(m.metadata), MAX_META))
    for k, v in m.metadata.items():
        kb, vb = k.encode("utf-8"), v.encode("utf-8")
        if not 1 <= len(kb) <= MAX_KEY or b"\0" in kb:
            raise DaeFormatError("metadata key %r: 1..%d bytes, no NUL" % (k, MAX_KEY))
        if len(vb) > MAX_VALUE or b"\0" in vb:
            raise DaeFormatError("metadata value of %r: at most %d bytes, no NUL" % (k, MAX_VALUE))


def dumps(m):
    """The bytes of the .dae file for m (validated first)."""
    validate(m)
    parts = [HEADER.pack(MAGIC, VERSION, m.in_channels, m.patch_h, m.patch_w,
                         len(m.layers), len(m.metadata), m.n_params)]
    for l in m.layers:
        parts.append(LAYER.pack(l.kind, l.act, l.ksize, l.out_channels, l.source, 0))
    for k, v in m.metadata.items():
        kb, vb = k.encode("utf-8"), v.encode("utf-8")
        parts += [struct.pack("<I", len(kb)), kb, struct.pack("<I", len(vb)), vb]
    parts.append(m.params.astype("<f4").tobytes())
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def loads(data):
    """Parses and validates the bytes of a .dae file; returns a Model."""
    data = bytes(data)
    if data[:8] != MAGIC:
        raise DaeFormatError("truncated model file: magic is cut off"
                             if len(data) < 8 and MAGIC.startswith(data)
                             else "not a dae model file (bad magic)")
    if len(data) < HEADER.size + 4:
        raise DaeFormatError("truncated model file: header is cut off")
    _, version, c, h, w, n_layers, n_meta, n_params = HEADER.unpack_from(data)
    if version != VERSION:
        raise DaeFormatError("unsupported model format version %d (this reads %d)"
                             % (version, VERSION))
    stored, = struct.unpack_from("<I", data, len(data) - 4)
    actual = zlib.crc32(data[:-4])
    if stored != actual:
        raise DaeFormatError("model file is corrupt or truncated (CRC-32 %08x, expected %08x)"
                             % (actual, stored))
    if not 1 <= n_layers <= MAX_LAYERS:
        raise DaeFormatError("layer count %d out of range 1..%d" % (n_layers, MAX_LAYERS))
    if n_meta > MAX_META:
        raise DaeFormatError("metadata count %d exceeds %d" % (n_meta, MAX_META))
    if n_params > MAX_PARAMS:
        raise DaeFormatError("parameter count %d exceeds %d" % (n_params, MAX_PARAMS))
    m = Model(c, h, w)
    end = len(data) - 4
    pos = HEADER.size

    def need(n, what):
        if pos + n > end:
            raise DaeFormatError("truncated model file: %s is cut off" % what)

    for i in range(n_layers):
        need(LAYER.size, "layer record %d" % i)
        kind, act, ksize, out_c, source, reserved = LAYER.unpack_from(data, pos)
        pos += LAYER.size
        m.layers.append(Layer(kind, act, out_c, source))
        param_counts(m)
        if ksize != m.layers[-1].ksize or reserved != 0:
            raise DaeFormatError("layer %d: kernel size %d and reserved %d, expected %d and 0"
                                 % (i, ksize, reserved, m.layers[-1].ksize))
    if m.n_params != n_params:
        raise DaeFormatError("header says %d parameters, layers need %d" % (n_params, m.n_params))
    for i in range(n_meta):
        strings = []
        for what, limit in (("key", MAX_KEY), ("value", MAX_VALUE)):
            label = "metadata %s %d" % (what, i)
            need(4, label)
            n, = struct.unpack_from("<I", data, pos)
            pos += 4
            if n > limit or (n == 0 and what == "key"):
                raise DaeFormatError("%s has length %d, allowed %d..%d"
                                     % (label, n, what == "key", limit))
            need(n, label)
            raw = data[pos:pos + n]
            pos += n
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None or "\0" in text:
                raise DaeFormatError("%s is not valid UTF-8 text" % label)
            strings.append(text)
        if strings[0] in m.metadata:
            raise DaeFormatError('metadata key "%s" appears twice' % strings[0])
        m.metadata[strings[0]] = strings[1]
    if end - pos != 4 * n_params:
        raise DaeFormatError("model file has %d bytes of parameters, expected %d"
                             % (end - pos, 4 * n_params))
    m.params = np.frombuffer(data, dtype="<f4", count=n_params, offset=pos).astype(np.float32)
    validate(m)
    return m


def save(m, path):
    """Writes m to path atomically (temporary file in the same folder, then rename)."""
    data = dumps(m)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def copy_params(old, new, remap):
    """Copies each old layer's weights and bias into new layer remap[i]."""
    for i, j in remap.items():
        w, bias = old.layer_params(i)
        if w is not None:
            nw, nb = new.layer_params(j)
            nw[...], nb[...] = w, bias


def he_init(m, layers, rng):
    """He-initialised weights and zero biases for the given conv3x3 layers."""
    for j in layers:
        w, bias = m.layer_params(j)
        w[...] = rng.standard_normal(w.shape).astype(np.float32) * np.sqrt(2.0 / (w.shape[1] * 9))
        bias[...] = 0.0


def arch_string(m):
    """The --arch spelling of a model (a source named l<its index>)."""
    names = {l.source for l in m.layers if l.kind in (ADD, CONCAT) and l.source >= 0}
    parts = []
    for i, l in enumerate(m.layers):
        if l.kind == CONV3X3:
            s = "c%d" % l.out_channels + ("" if l.act == RELU else ":" + ACT_NAMES[l.act])
        elif l.kind == MAXPOOL2:
            s = "p"
        elif l.kind == UPSAMPLE2:
            s = "u"
        else:
            s = ("add:" if l.kind == ADD else "cat:") + ("in" if l.source < 0 else "l%d" % l.source)
        parts.append(s + ("=l%d" % i if i in names else ""))
    return ",".join(parts)


def file_sha256(path):
    """The sha256 of a model file, as the README and the metadata cite it."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load(path):
    with open(path, "rb") as f:
        return loads(f.read())


def to_torch(m):
    """A torch.nn.Module computing m (see dae-model(5) for the semantics).

    Its forward(x) returns the list of every layer's output; the last is the
    network's output.  Parameters are copied from m.params; flat_params() and
    flat_grads() give them back in .dae order."""
    import torch
    import torch.nn.functional as F

    class DaeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.spec = [Layer(l.kind, l.act, l.out_channels, l.source) for l in m.layers]
            self.mods = torch.nn.ModuleDict()
            for i, l in enumerate(self.spec):
                cin = _channels(m, i - 1)
                if l.kind == CONV3X3:
                    self.mods[str(i)] = torch.nn.Conv2d(cin, l.out_channels, 3, padding=1)
                elif l.kind == CONVT2X2:
                    self.mods[str(i)] = torch.nn.ConvTranspose2d(cin, l.out_channels, 2, stride=2)
            if m.params.size:
                self.set_flat_params(torch.from_numpy(m.params.copy()))

        def ordered(self):
            """Parameter tensors in .dae order."""
            out = []
            for i in range(len(self.spec)):
                if str(i) in self.mods:
                    out += [self.mods[str(i)].weight, self.mods[str(i)].bias]
            return out

        def flat_params(self):
            return torch.cat([p.detach().reshape(-1) for p in self.ordered()])

        def flat_grads(self):
            return torch.cat([p.grad.detach().reshape(-1) for p in self.ordered()])

        @torch.no_grad()
        def set_flat_params(self, flat):
            off = 0
            for p in self.ordered():
                p.copy_(flat[off:off + p.numel()].reshape(p.shape))
                off += p.numel()
            assert off == flat.numel()

        def forward(self, x):
            return self.run(x)[0]

        def run(self, x):
            """(every layer's output, every layer's value before its
            activation)."""
            outs, pres = [], []
            for i, l in enumerate(self.spec):
                prev = outs[i - 1] if i else x
                if l.kind in (CONV3X3, CONVT2X2):
                    y = self.mods[str(i)](prev)
                elif l.kind == MAXPOOL2:
                    y = F.max_pool2d(prev, 2, ceil_mode=True)
                elif l.kind == UPSAMPLE2:
                    y = F.interpolate(prev, scale_factor=2, mode="nearest")
                else:
                    src = x if l.source < 0 else outs[l.source]
                    y = prev + src if l.kind == ADD else torch.cat([prev, src], dim=1)
                pres.append(y)
                if l.act == RELU:
                    y = torch.relu(y)
                elif l.act == SIGMOID:
                    y = torch.sigmoid(y)
                outs.append(y)
            return outs, pres

    return DaeNet()
