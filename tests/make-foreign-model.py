#!/usr/bin/python3
"""make-foreign-model: write a .dae network as Keras or ONNX would store it.

Usage: make-foreign-model.py FORMAT IN.dae OUT
FORMAT: keras2-h5 (model.save("x.h5") of Keras 2: model_config JSON,
model_weights/<layer>/<layer>/kernel:0, kernels HWIO), keras3 (a .keras zip:
config.json, metadata.json, model.weights.h5 with layers/<layer>/vars/N) or
onnx (opset 13, NCHW, weights as initializers); FORMAT-bad has the
first max-pool replaced by an average pool, which dae does not support.  Used by test-import: the
files are built with h5py and onnx only, laid out as the frameworks lay
them out, so dae-model import is tested without TensorFlow or PyTorch.
Exit 77 when the module a format needs is missing.
"""

import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import numpy as np  # noqa: E402

import daemodel as dm  # noqa: E402


def keras_layers(m, keras3):
    """(layer configs, {name: [kernel, bias]}, output name)."""
    def tensor(name):
        if keras3:
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": None, "dtype": "float32",
                               "keras_history": [name, 0, 0]}}
        return [name, 0, 0, {}]

    def inbound(names):
        if keras3:
            args = [tensor(n) for n in names]
            return [{"args": [args] if len(names) > 1 else args, "kwargs": {}}]
        return [[tensor(n) for n in names]]

    shape = [None, m.patch_h, m.patch_w, m.in_channels]
    inp = "input_layer" if keras3 else "input_1"
    layers = [{"class_name": "InputLayer", "name": inp, "inbound_nodes": [],
               "config": {("batch_shape" if keras3 else "batch_input_shape"): shape,
                          "dtype": "float32", "sparse": False, "name": inp}}]
    weights, names = {}, []
    counts = {}

    def add(cls, base, config, ins):
        k = counts.get(base, 0)
        counts[base] = k + 1
        name = base if k == 0 else "%s_%d" % (base, k)
        config = dict(config, name=name, trainable=True, dtype="float32")
        layers.append({"class_name": cls, "config": config, "name": name,
                       "inbound_nodes": inbound(ins)})
        if keras3:
            layers[-1]["module"] = "keras.layers"
        return name

    prev = inp
    for i, l in enumerate(m.layers):
        act = dm.ACT_NAMES[l.act].replace("none", "linear")
        if l.kind in (dm.CONV3X3, dm.CONVT2X2):
            w, b = m.layer_params(i)
            conv = l.kind == dm.CONV3X3
            cfg = {"filters": l.out_channels, "kernel_size": [3, 3] if conv else [2, 2],
                   "strides": [1, 1] if conv else [2, 2], "padding": "same" if conv else "valid",
                   "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                   "activation": act, "use_bias": True}
            name = add("Conv2D" if conv else "Conv2DTranspose",
                       "conv2d" if conv else "conv2d_transpose", cfg, [prev])
            # [out][in][3][3] -> (3, 3, in, out); [in][out][2][2] -> (2, 2, out, in).
            weights[name] = [np.transpose(w, (2, 3, 1, 0)) if conv
                             else np.transpose(w, (2, 3, 1, 0)), b.copy()]
        elif l.kind == dm.MAXPOOL2:
            name = add("MaxPooling2D", "max_pooling2d",
                       {"pool_size": [2, 2], "strides": [2, 2], "padding": "same",
                        "data_format": "channels_last"}, [prev])
        elif l.kind == dm.UPSAMPLE2:
            name = add("UpSampling2D", "up_sampling2d",
                       {"size": [2, 2], "data_format": "channels_last",
                        "interpolation": "nearest"}, [prev])
        else:
            src = inp if l.source < 0 else names[l.source]
            if l.kind == dm.ADD:
                name = add("Add", "add", {}, [prev, src])
                if l.act != dm.NONE:
                    name = add("Activation", "activation", {"activation": act}, [name])
            else:
                name = add("Concatenate", "concatenate", {"axis": -1}, [prev, src])
        names.append(name)
        prev = name
    config = {"class_name": "Functional",
              "config": {"name": "model", "layers": layers,
                         "input_layers": [[inp, 0, 0]], "output_layers": [[prev, 0, 0]]}}
    if keras3:
        config["module"] = "keras.src.models.functional"
    return config, weights, [l["name"] for l in layers]


BAD = False


def spoil(config):
    if BAD:
        pools = [l for l in config["config"]["layers"] if l["class_name"] == "MaxPooling2D"]
        pools[0]["class_name"] = "AveragePooling2D"
    return config


def write_keras2_h5(m, out):
    import h5py
    config, weights, order = keras_layers(m, keras3=False)
    spoil(config)
    with h5py.File(out, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode() for n in order])
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = "2.15.0"
        for name in order:
            lg = g.create_group(name)
            ws = weights.get(name, [])
            wn = ["%s/%s:0" % (name, v) for v in ("kernel", "bias")][:len(ws)]
            lg.attrs["weight_names"] = np.array([n.encode() for n in wn])
            for n, a in zip(wn, ws):
                lg.create_dataset(n, data=a.astype(np.float32))


def write_keras3(m, out):
    import h5py
    import io
    config, weights, order = keras_layers(m, keras3=True)
    spoil(config)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        top = f.create_group("layers")
        for name in order:
            lg = top.create_group(name)
            v = lg.create_group("vars")
            for k, a in enumerate(weights.get(name, [])):
                v.create_dataset(str(k), data=a.astype(np.float32))
        f.create_group("optimizer").create_group("vars")
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3",
                                                "date_saved": "2026-12-03@10:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())


def write_onnx(m, out):
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    nodes, inits, names = [], [], []
    prev = "input"
    for i, l in enumerate(m.layers):
        y = "l%d" % i
        if l.kind in (dm.CONV3X3, dm.CONVT2X2):
            w, b = m.layer_params(i)
            inits += [numpy_helper.from_array(w.copy(), "w%d" % i),
                      numpy_helper.from_array(b.copy(), "b%d" % i)]
            conv = l.kind == dm.CONV3X3
            nodes.append(helper.make_node(
                "Conv" if conv else "ConvTranspose", [prev, "w%d" % i, "b%d" % i], [y],
                name="conv%d" % i, kernel_shape=[3, 3] if conv else [2, 2],
                pads=[1, 1, 1, 1] if conv else [0, 0, 0, 0],
                strides=[1, 1] if conv else [2, 2]))
        elif l.kind == dm.MAXPOOL2:
            nodes.append(helper.make_node("AveragePool" if BAD else "MaxPool", [prev], [y], name="pool%d" % i,
                                          kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1))
        elif l.kind == dm.UPSAMPLE2:
            inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s%d" % i))
            nodes.append(helper.make_node("Resize", [prev, "", "s%d" % i], [y],
                                          name="up%d" % i, mode="nearest"))
        else:
            src = "input" if l.source < 0 else names[l.source]
            nodes.append(helper.make_node("Add" if l.kind == dm.ADD else "Concat", [prev, src],
                                          [y], name="join%d" % i,
                                          **({} if l.kind == dm.ADD else {"axis": 1})))
        if l.act != dm.NONE:
            nodes.append(helper.make_node("Relu" if l.act == dm.RELU else "Sigmoid", [y],
                                          [y + "a"], name="act%d" % i))
            y += "a"
        names.append(y)
        prev = y
    shape = [1, m.in_channels, m.patch_h, m.patch_w]
    graph = helper.make_graph(
        nodes, "dae", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, out)


def main():
    global BAD
    fmt, src, out = sys.argv[1:4]
    BAD = fmt.endswith("-bad")
    fmt = fmt[:-4] if BAD else fmt
    writers = {"keras2-h5": ("h5py", write_keras2_h5), "keras3": ("h5py", write_keras3),
               "onnx": ("onnx", write_onnx)}
    module, write = writers[fmt]
    try:
        __import__(module)
    except ImportError:
        print("skip: /usr/bin/python3 has no %s module (Debian: python3-%s)" % (module, module))
        return 77
    write(dm.load(src), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
