#!/usr/bin/python3
"""Writes Keras model files (.keras and legacy .h5) from the zoo's TF.js layers models, for tests.

Development script (Debian python3-h5py + numpy); the product never runs Python. The layout follows
what Keras writes (keras-team/keras keras/src/saving/saving_lib.py and
keras/src/legacy/saving/legacy_h5_format.py, see ../shared/KERAS-FORMAT.md):

- .h5 (tf.keras 2.x): root attrs keras_version / backend (str) and model_config (JSON bytes);
  group model_weights with attrs layer_names (fixed-length bytes array), backend, keras_version;
  one group per layer (created in name order) with attr weight_names and the datasets at
  model_weights/<layer>/<weight name with :0>; a nested model is ONE group holding all its weights;
  an empty name list is an empty float64 array; plus the empty top_level_model_weights group.
- .keras (Keras 3.9): an uncompressed zip with metadata.json, config.json (every object
  {module, class_name, config, registered_name}, build_config, InputLayer batch_shape, inbound_nodes
  as args/kwargs with __keras_tensor__ histories, DTypePolicy objects) and model.weights.h5 with
  layers/<snake_case class name, _1, _2 per container>/vars/<i> and attr name on every vars group.

Usage: scripts/keras-fixtures.py <zoo model folder> <out folder> [--bad]
  writes <out>/model.h5 and <out>/model.keras; with --bad also the broken variants the tests need.
       scripts/keras-fixtures.py --synthetic <out folder>
  writes small models for the semantics traps: activations (.keras: Keras 3 meanings; -keras2.h5:
  Keras 2 meanings), and models starting with Rescaling or Normalization.
       scripts/keras-fixtures.py --reference <file.keras> <out.json>
  numpy outputs of a real Keras-written MLP, as the expected values of its test.
"""
import copy
import io
import json
import re
import sys
import zipfile

import h5py
import numpy as np

KERAS2_VERSION = "2.6.0"
KERAS3_VERSION = "3.9.2"
DATE_SAVED = "2026-12-04@00:00:00"


def read_zoo(folder):
    with open(f"{folder}/model.json") as f:
        model_json = json.load(f)
    topology = model_json["modelTopology"]
    config = topology.get("model_config", topology)
    config = {"class_name": config["class_name"], "config": config["config"]}
    weights = {}
    order = []
    for group in model_json["weightsManifest"]:
        data = b"".join(open(f"{folder}/{p}", "rb").read() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            assert spec["dtype"] == "float32"
            array = np.frombuffer(data, dtype="<f4", count=count, offset=offset).reshape(spec["shape"])
            offset += count * 4
            weights[spec["name"]] = array
            order.append(spec["name"])
    return config, weights, order


def layers_of(config):
    inner = config["config"]
    return inner if isinstance(inner, list) else inner["layers"]


def is_container(layer):
    return layer["class_name"] in ("Sequential", "Model", "Functional")


# tfjs / Keras 2 variable names per layer class, in creation order.
def variable_names(layer):
    cls = layer["class_name"]
    cfg = layer["config"]
    bias = ["bias"] if cfg.get("use_bias", True) else []
    if cls in ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose"):
        return ["kernel"] + bias
    if cls == "DepthwiseConv2D":
        return ["depthwise_kernel"] + bias
    if cls == "BatchNormalization":
        names = (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
        return names + ["moving_mean", "moving_variance"]
    if cls == "Normalization" and cfg.get("mean") is None:
        return ["mean", "variance", "count"]
    return []


def layer_name(layer):
    return layer.get("name") or layer["config"]["name"]


def leaf_weights(layer, weights):
    """(name, array) of every variable of a leaf layer, in creation order."""
    out = []
    for var in variable_names(layer):
        key = f"{layer_name(layer)}/{var}"
        out.append((key, weights[key]))
    return out


def all_leaves(layer):
    if not is_container(layer):
        return [layer]
    return [leaf for sub in layers_of(layer) for leaf in all_leaves(sub)]


def legacy_weights(layer, weights, order):
    """Keras 2 _legacy_weights: a nested model holds all its variables (kept in the zoo's order,
    which is the trainable-first order tfjs and Keras both use)."""
    if not is_container(layer):
        return leaf_weights(layer, weights)
    names = {n for leaf in all_leaves(layer) for n, _ in leaf_weights(leaf, weights)}
    return [(n, weights[n]) for n in order if n in names]


def name_list_attr(group, key, names):
    # save_attributes_to_hdf5_group: np.asarray of bytes -> fixed-length 'S'; [] -> float64.
    group.attrs[key] = np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])


def write_h5(path, config, weights, order, mutate=None):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = KERAS2_VERSION
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        mw = f.create_group("model_weights")
        layers = layers_of(config)
        name_list_attr(mw, "layer_names", [layer_name(l) for l in layers])
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = KERAS2_VERSION.encode("utf8")
        for layer in sorted(layers, key=layer_name):
            g = mw.create_group(layer_name(layer))
            pairs = legacy_weights(layer, weights, order)
            name_list_attr(g, "weight_names", [f"{n}:0" for n, _ in pairs])
            for name, value in pairs:
                if mutate:
                    value = mutate(name, value)
                g.create_dataset(f"{name}:0", data=value)
        mw.create_group("top_level_model_weights")


def write_h5_from_keras3(path, config, weights):
    """`model.save("x.h5")` in Keras 3 (legacy_h5_format): a Sequential's model_config is
    {class_name, config} per layer with Keras 3 values (DTypePolicy objects, batch_shape, initializer
    objects); weight names are variable paths `<model>/<layer>/<var>` without ':0'; strings vlen."""
    store = WeightStore()
    k3 = keras3_config(config, weights, store)
    store.close()
    for layer in k3["config"]["layers"]:
        layer.pop("module", None)
        layer.pop("registered_name", None)
        layer.pop("build_config", None)
    k3 = {"class_name": k3["class_name"], "config": k3["config"]}
    model_name = k3["config"]["name"]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = KERAS3_VERSION
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(k3)
        mw = f.create_group("model_weights")
        layers = [l for l in k3["config"]["layers"] if l["class_name"] != "InputLayer"]
        mw.attrs["layer_names"] = [l["config"]["name"] for l in layers]
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = KERAS3_VERSION
        for layer in sorted(layers, key=lambda l: l["config"]["name"]):
            name = layer["config"]["name"]
            g = mw.create_group(name)
            keras2_layer = next(l for l in layers_of(config) if layer_name(l) == name)
            names = [f"{model_name}/{name}/{v}" for v in variable_names(keras2_layer)]
            g.attrs["weight_names"] = names if names else np.asarray([])
            for full, var in zip(names, variable_names(keras2_layer)):
                g.create_dataset(full, data=weights[f"{name}/{var}"])
        mw.create_group("top_level_model_weights")


# ---- Keras 3 -------------------------------------------------------------------------------

def snake(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def dtype_policy(name="float32"):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def k3_object(class_name, config, module="keras.layers", registered=None):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered}


def k3_initializer(init):
    if not isinstance(init, dict):
        return init
    return k3_object(init["class_name"], dict(init["config"]), module="keras.initializers")


class Keras3Writer:
    def __init__(self, dtype="float32"):
        self.input_count = 0
        self.dtype = dtype

    def input_layer(self, shape, name=None):
        if name is None:
            name = "input_layer" if self.input_count == 0 else f"input_layer_{self.input_count}"
            self.input_count += 1
        cfg = {"batch_shape": list(shape), "dtype": "float32", "sparse": False, "ragged": False, "name": name}
        return k3_object("InputLayer", cfg)

    def leaf(self, layer, input_shape):
        cls = layer["class_name"]
        cfg = {k: v for k, v in layer["config"].items() if k not in ("batch_input_shape", "input_shape")}
        cfg["dtype"] = dtype_policy(self.dtype)
        cfg.setdefault("trainable", True)
        for key, value in list(cfg.items()):
            if key.endswith("_initializer"):
                cfg[key] = k3_initializer(value)
        if cls == "Conv2D":
            cfg.setdefault("groups", 1)
        if cls == "ReLU" and cfg.get("max_value") is not None:
            cfg["max_value"] = float(cfg["max_value"])
        if cls == "BatchNormalization":
            cfg.setdefault("synchronized", False)
        out = k3_object(cls, cfg)
        if variable_names(layer) or cls in ("Flatten", "MaxPooling2D", "Dropout"):
            out["build_config"] = {"input_shape": input_shape}
        return out

    def sequential(self, layer, input_shape, weights, store_path, store):
        layers = layers_of(layer)
        first = layers[0]
        entries = []
        shape = input_shape
        if first["class_name"] == "InputLayer":
            shape = first["config"]["batch_input_shape"]
            entries.append(self.input_layer(shape, first["config"]["name"]))
            layers = layers[1:]
        else:
            shape = input_shape_of(first) or shape
            entries.append(self.input_layer(shape))
        used = {}
        store.vars(store_path, layer_name(layer), [])
        for sub in layers:
            child_path = f"{store_path}layers/{unique(used, sub)}"
            entry, shape = self.layer(sub, shape, weights, child_path + "/", store)
            entries.append(entry)
        cfg = {"name": layer_name(layer), "trainable": True, "dtype": dtype_policy(self.dtype), "layers": entries}
        out = k3_object("Sequential", cfg, module="keras")
        out["build_config"] = {"input_shape": input_shape}
        return out, shape

    def functional(self, layer, weights, store_path, store):
        cfg = layer["config"]
        used = {}
        entries = []
        store.vars(store_path, layer_name(layer), [])
        for sub in cfg["layers"]:
            child_path = f"{store_path}layers/{unique(used, sub)}"
            if sub["class_name"] == "InputLayer":
                entry = self.input_layer(sub["config"]["batch_input_shape"], sub["config"]["name"])
                store.vars(child_path + "/", sub["config"]["name"], [])
            else:
                entry, _ = self.layer(sub, None, weights, child_path + "/", store)
            entry["name"] = layer_name(sub)
            entry["inbound_nodes"] = [functional_node(n) for n in sub["inbound_nodes"]]
            entries.append(entry)
        body = {
            "name": layer_name(layer),
            "trainable": True,
            "layers": entries,
            "input_layers": [list(x) for x in cfg["input_layers"]],
            "output_layers": [list(x) for x in cfg["output_layers"]],
        }
        return k3_object("Functional", body, module="keras.src.models.functional", registered="Functional"), None

    def layer(self, layer, input_shape, weights, store_path, store):
        cls = layer["class_name"]
        if cls == "Sequential":
            return self.sequential(layer, input_shape, weights, store_path, store)
        if cls in ("Model", "Functional"):
            entry, _ = self.functional(layer, weights, store_path, store)
            return entry, [None, *output_shape_hint(layer)]
        entry = self.leaf(layer, input_shape)
        store.vars(store_path, layer_name(layer), [weights[f"{layer_name(layer)}/{v}"] for v in variable_names(layer)])
        return entry, next_shape(layer, input_shape)


def input_shape_of(layer):
    if layer["class_name"] == "Sequential":
        first = layers_of(layer)[0]
        return first["config"].get("batch_input_shape") or input_shape_of(first)
    if layer["class_name"] in ("Model", "Functional"):
        return input_shape_of(layers_of(layer)[0])
    return layer["config"].get("batch_input_shape")


def output_shape_hint(layer):
    # The zoo's only nested functional model (tm-objects) ends in a 1280-wide pooling.
    return [1280]


def next_shape(layer, shape):
    if shape is None:
        return None
    cls = layer["class_name"]
    cfg = layer["config"]
    if cls == "Dense":
        return [*shape[:-1], cfg["units"]]
    if cls == "Conv2D":
        if cfg["padding"] == "same" and list(cfg["strides"]) == [1, 1]:
            return [*shape[:-1], cfg["filters"]]
        h = (shape[1] - cfg["kernel_size"][0]) // cfg["strides"][0] + 1 if cfg["padding"] == "valid" else -(-shape[1] // cfg["strides"][0])
        w = (shape[2] - cfg["kernel_size"][1]) // cfg["strides"][1] + 1 if cfg["padding"] == "valid" else -(-shape[2] // cfg["strides"][1])
        return [shape[0], h, w, cfg["filters"]]
    if cls == "MaxPooling2D":
        stride = cfg.get("strides") or cfg["pool_size"]
        if cfg["padding"] == "valid":
            return [shape[0], (shape[1] - cfg["pool_size"][0]) // stride[0] + 1, (shape[2] - cfg["pool_size"][1]) // stride[1] + 1, shape[3]]
        return [shape[0], -(-shape[1] // stride[0]), -(-shape[2] // stride[1]), shape[3]]
    if cls == "Flatten":
        return [shape[0], int(np.prod(shape[1:]))]
    return shape


def unique(used, layer):
    name = snake({"Model": "Functional"}.get(layer["class_name"], layer["class_name"]))
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def functional_node(node):
    tensors = [
        {"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32", "keras_history": [n[0], n[1], n[2]]}}
        for n in node
    ]
    return {"args": [tensors] if len(tensors) > 1 else tensors, "kwargs": {}}


class WeightStore:
    def __init__(self, mutate=None):
        self.buffer = io.BytesIO()
        self.file = h5py.File(self.buffer, "w")
        self.mutate = mutate

    def vars(self, path, name, values):
        group = self.file.create_group(f"{path}vars") if path else self.file.create_group("vars")
        group.attrs["name"] = name
        for i, value in enumerate(values):
            if self.mutate:
                value = self.mutate(f"{name}/{i}", value)
            group.create_dataset(str(i), data=value)

    def close(self):
        self.file.close()
        return self.buffer.getvalue()


def keras3_config(config, weights, store, dtype="float32"):
    writer = Keras3Writer(dtype)
    cls = config["class_name"]
    if cls == "Sequential":
        entry, _ = writer.sequential(config, input_shape_of(config), weights, "", store)
    else:
        entry, _ = writer.functional(config, weights, "", store)
        entry["build_config"] = {"input_shape": None}
    entry["compile_config"] = None
    return entry


def write_keras(path, config, weights, mutate=None, dtype="float32", edit=None, members=None):
    store = WeightStore(mutate)
    k3 = keras3_config(config, weights, store, dtype)
    if edit:
        edit(k3)
    h5_bytes = store.close()
    metadata = {"keras_version": KERAS3_VERSION, "date_saved": DATE_SAVED}
    files = members or {"metadata.json": json.dumps(metadata), "config.json": json.dumps(k3), "model.weights.h5": h5_bytes}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            # A fixed timestamp keeps regenerated fixtures byte-identical (Keras stamps the save time).
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 4, 0, 0, 0)), data if isinstance(data, bytes) else data.encode())
    return k3, h5_bytes


def write_bad(out, config, weights, order):
    def wrong_shape(name, value):
        return value[:-1] if name in ("dense_3/kernel", "dense_3/0") else value

    write_h5(f"{out}/bad-shape.h5", config, weights, order, mutate=wrong_shape)
    write_keras(f"{out}/bad-shape.keras", config, weights, mutate=wrong_shape)

    def custom_layer(k3):
        layer = k3["config"]["layers"][1]
        layer["module"] = None
        layer["class_name"] = "MyDense"
        layer["registered_name"] = "my_package>MyDense"

    write_keras(f"{out}/custom-layer.keras", config, weights, edit=custom_layer)
    custom_h5 = copy.deepcopy(config)
    layers_of(custom_h5)[0]["class_name"] = "MyDense"
    write_h5(f"{out}/custom-layer.h5", custom_h5, weights, order)
    k3, h5_bytes = write_keras(f"{out}/model.keras", config, weights)
    meta = json.dumps({"keras_version": KERAS3_VERSION, "date_saved": DATE_SAVED})
    write_keras(f"{out}/no-weights.keras", config, weights, members={"metadata.json": meta, "config.json": json.dumps(k3)})
    write_keras(
        f"{out}/config-not-json.keras",
        config,
        weights,
        members={"metadata.json": meta, "config.json": '{"class_name": "Sequential", "config": {', "model.weights.h5": h5_bytes},
    )
    write_keras(f"{out}/mixed-float16.keras", config, weights, dtype="mixed_float16")
    write_h5_from_keras3(f"{out}/keras3-saved.h5", config, weights)
    with h5py.File(f"{out}/not-keras.h5", "w") as f:
        f.create_dataset("measurements", data=np.arange(12, dtype="f4").reshape(3, 4))
    with h5py.File(f"{out}/weights-only.h5", "w") as f:
        name_list_attr(f, "layer_names", [layer_name(l) for l in layers_of(config)])


def dense(name, units, activation="linear", input_shape=None):
    cfg = {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation, "use_bias": True,
           "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
           "bias_initializer": {"class_name": "Zeros", "config": {}}}
    if input_shape:
        cfg["batch_input_shape"] = input_shape
    return {"class_name": "Dense", "config": cfg}


def functional_layer(layer, inbound):
    layer = copy.deepcopy(layer)
    layer["name"] = layer["config"]["name"]
    layer["inbound_nodes"] = [[[n, 0, 0, {}] for n in inbound]] if inbound else []
    return layer


ACTIVATIONS = ["hard_sigmoid", "silu", "swish", "gelu", "relu6", "hard_silu", "leaky_relu"]


def activations_model(names):
    """Input [1] -> one Dense(1, kernel 1, bias 0, activation) per name -> Concatenate: output k = act_k(x)."""
    inp = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 1], "dtype": "float32", "sparse": False, "name": "x"}}
    layers = [functional_layer(inp, None)]
    weights = {}
    for act in names:
        layers.append(functional_layer(dense(f"act_{act}", 1, act), ["x"]))
        weights[f"act_{act}/kernel"] = np.ones((1, 1), dtype="f4")
        weights[f"act_{act}/bias"] = np.zeros((1,), dtype="f4")
    concat = {"class_name": "Concatenate", "config": {"name": "all", "trainable": True, "dtype": "float32", "axis": -1}}
    layers.append(functional_layer(concat, [f"act_{a}" for a in names]))
    config = {"class_name": "Model", "config": {"name": "activations", "layers": layers,
              "input_layers": [["x", 0, 0]], "output_layers": [["all", 0, 0]]}}
    return config, weights, list(weights)


def preprocessing_model(first):
    """Input [4, 4, 1] -> `first` (Rescaling / Normalization) -> Flatten -> Dense(3): fixed weights."""
    rng = np.random.default_rng(5)
    inp = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4, 4, 1], "dtype": "float32", "sparse": False, "name": "image"}}
    flat = {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True, "dtype": "float32", "data_format": "channels_last"}}
    config = {"class_name": "Sequential", "config": {"name": "preprocessing", "layers": [inp, first, flat, dense("dense", 3)]}}
    weights = {"dense/kernel": rng.normal(size=(16, 3)).astype("f4"), "dense/bias": rng.normal(size=(3,)).astype("f4")}
    if first["class_name"] == "Normalization":
        weights["normalization/mean"] = np.array([120.0], dtype="f4")
        weights["normalization/variance"] = np.array([3600.0], dtype="f4")
        weights["normalization/count"] = np.array(1000, dtype="i8")
    return config, weights, list(weights)


def write_synthetic(out):
    for name, names in (("activations", ACTIVATIONS), ("activations-keras2", ["hard_sigmoid", "swish", "gelu", "relu6"])):
        config, weights, order = activations_model(names)
        if name == "activations":
            write_keras(f"{out}/{name}.keras", config, weights)
        else:
            write_h5(f"{out}/{name}.h5", config, weights, order)
    rescaling = {"class_name": "Rescaling", "config": {"name": "rescaling", "trainable": True, "dtype": "float32", "scale": 1 / 255, "offset": 0.0}}
    normalization = {"class_name": "Normalization", "config": {"name": "normalization", "trainable": True, "dtype": "float32", "axis": [-1], "mean": None, "variance": None, "invert": False}}
    for name, first in (("rescaling", rescaling), ("normalization", normalization)):
        config, weights, order = preprocessing_model(first)
        write_keras(f"{out}/{name}.keras", config, weights)
        write_h5(f"{out}/{name}.h5", config, weights, order)


def numpy_reference(keras_file, out_json):
    """Outputs of a Keras 3 Sequential MLP (Dense / Dropout / LeakyReLU / ReLU) computed with numpy
    from the file itself, independent of PathLens: the expected values for a real Keras-written file."""
    with zipfile.ZipFile(keras_file) as zf:
        config = json.loads(zf.read("config.json"))
        weights = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
        layers = [l for l in config["config"]["layers"] if l["class_name"] != "InputLayer"]
        width = config["config"]["layers"][0]["config"]["batch_shape"][1]
        x = np.linspace(0.05, 0.95, 5 * width).reshape(5, width).astype("f8")
        inputs = x.tolist()
        used = {}
        act = {"relu": lambda v: np.maximum(v, 0), "linear": lambda v: v}
        for layer in layers:
            path = f"layers/{unique(used, layer)}/vars"
            cfg = layer["config"]
            if layer["class_name"] == "Dense":
                x = act[cfg["activation"]](x @ weights[f"{path}/0"][()] + weights[f"{path}/1"][()])
            elif layer["class_name"] == "LeakyReLU":
                x = np.where(x >= 0, x, cfg["negative_slope"] * x)
            elif layer["class_name"] != "Dropout":
                raise SystemExit(f"numpy_reference: no rule for {layer['class_name']}")
    with open(out_json, "w") as f:
        json.dump({"inputs": inputs, "outputs": x.tolist()}, f, indent=1)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    zoo, out = argv[1], argv[2]
    if zoo == "--reference":
        return numpy_reference(argv[2], argv[3])
    if zoo == "--synthetic":
        return write_synthetic(out)
    config, weights, order = read_zoo(zoo)
    write_h5(f"{out}/model.h5", config, weights, order)
    write_keras(f"{out}/model.keras", config, weights)
    if "--bad" in argv:
        write_bad(out, config, weights, order)


if __name__ == "__main__":
    main(sys.argv)
