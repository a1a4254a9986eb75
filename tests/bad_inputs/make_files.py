"""Writes the binary bad inputs of this corpus (models, checkpoints) from the shipped CartPole
model, with only the standard library: `python3 tests/bad_inputs/make_files.py` from the repo
root. Each file is one realistic corruption; `cases.toml` says what the CLI must answer."""
import json
import math
import struct
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE.parent.parent / "models" / "cartpole_ABCD_lr.safetensors"


def read(path):
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8 : 8 + n]), b[8 + n :]


def write(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def patched(header, data, name, index, value):
    """A copy of data with tensor `name`'s flat element `index` set to `value`."""
    start = header[name]["data_offsets"][0] + 4 * index
    return data[:start] + struct.pack("<f", value) + data[start + 4 :]


def main():
    header, data = read(SOURCE)
    models = HERE / "models"
    models.mkdir(exist_ok=True)

    def model(name, h=None, d=None):
        write(models / name, h if h is not None else header, d if d is not None else data)

    def meta(**kv):
        h = json.loads(json.dumps(header))
        h["__metadata__"].update(kv)
        return h

    model("nan_coefficient.safetensors", d=patched(header, data, "coefficients.1", 77, math.nan))
    model("inf_coefficient.safetensors", d=patched(header, data, "coefficients.0", 3, math.inf))
    model("version_9.safetensors", h=meta(version="9"))
    model("genome_len_wrong.safetensors", h=meta(genome_len="44161"))
    model("task_mismatch.safetensors", h=meta(task="ant"))
    model("rule_unknown.safetensors", h=meta(rule="ABCDE"))
    model("embedded_config_broken.safetensors", h=meta(config="seed = [[["))
    model("generation_not_a_number.safetensors", h=meta(generation="lots"))
    model("checkpoint_format.safetensors", h=meta(format="hebbian-checkpoint"))
    h = json.loads(json.dumps(header))
    del h["__metadata__"]["format"]
    model("no_format.safetensors", h=h)
    h = json.loads(json.dumps(header))
    h["coefficients.0"]["shape"] = [5, 4, 128]
    model("wrong_shape.safetensors", h=h)
    h = json.loads(json.dumps(header))
    h["coefficients.9"] = h.pop("coefficients.2")
    model("missing_tensor.safetensors", h=h)
    h = json.loads(json.dumps(header))
    h["coefficients.2"]["dtype"] = "I32"
    model("wrong_dtype.safetensors", h=h)
    full = SOURCE.read_bytes()
    (models / "truncated.safetensors").write_bytes(full[: len(full) // 2])
    (models / "empty.safetensors").write_bytes(b"")
    (models / "huge_header_length.safetensors").write_bytes(struct.pack("<Q", 10**18) + b"{}")
    (models / "text.safetensors").write_text("this is not a model\n")

    # Merged-rule models (network.granularity = "merged"): two ABCD_lr rules per CartPole
    # layer, synapse s following rule s % 2, with one corruption each.
    def merged(name, rule_of=lambda s: s % 2, rule_of_dtype="U32"):
        h = {"__metadata__": dict(header["__metadata__"])}
        config = h["__metadata__"]["config"]
        h["__metadata__"]["config"] = config.replace("[network]\n", '[network]\ngranularity = "merged"\n', 1)
        h["__metadata__"]["genome_len"] = "30"
        d = b""
        for l, (o, i) in enumerate([(128, 4), (64, 128), (2, 64)]):
            rules = struct.pack("<10f", *([0.1] * 10))
            h[f"merged_rules.{l}"] = {"dtype": "F32", "shape": [5, 2], "data_offsets": [len(d), len(d) + len(rules)]}
            d += rules
            fmt = "<%dI" % (o * i) if rule_of_dtype == "U32" else "<%df" % (o * i)
            index = struct.pack(fmt, *[rule_of(s) for s in range(o * i)])
            h[f"rule_of.{l}"] = {"dtype": rule_of_dtype, "shape": [o, i], "data_offsets": [len(d), len(d) + len(index)]}
            d += index
        write(models / name, h, d)

    merged("merged_rule_unused.safetensors", rule_of=lambda s: 2 * (s % 2))
    merged("merged_rule_of_f32.safetensors", rule_of_dtype="F32")

    # Checkpoints: a zero centre of the CartPole ABCD_lr genome length.
    checkpoints = HERE / "checkpoints"
    checkpoints.mkdir(exist_ok=True)
    n = int(header["__metadata__"]["genome_len"])
    centre = struct.pack(f"<{n}f", *([0.0] * n))

    def checkpoint(name, c=centre, **kv):
        m = {
            "format": "hebbian-checkpoint",
            "version": "1",
            "task": "cartpole",
            "rule": "ABCD_lr",
            "learning_rate": "0.2",
            "sigma": "0.1",
            "generation": "1",
            "seed": "1",
        }
        m.update(kv)
        h = {"__metadata__": m, "centre": {"dtype": "F32", "shape": [len(c) // 4], "data_offsets": [0, len(c)]}}
        write(checkpoints / name, h, c)

    checkpoint("nan_centre.safetensors", c=centre[:40] + struct.pack("<f", math.nan) + centre[44:])
    checkpoint("short_centre.safetensors", c=centre[:-4])
    checkpoint("other_rule.safetensors", rule="AD")
    checkpoint("other_task.safetensors", task="ant")
    checkpoint("sigma_negative.safetensors", sigma="-1")
    checkpoint("generation_negative.safetensors", generation="-3")
    checkpoint("config_hash_mismatch.safetensors", config="seed = 1\n", config_sha256="00" * 32)
    checkpoint("version_2.safetensors", version="2")
    (checkpoints / "truncated.safetensors").write_bytes(full[:100])


if __name__ == "__main__":
    main()
