"""clip-shapes as a SigLIP export: artifacts/fixtures/siglip-shapes.

SigLIP (google/siglip-*, Xenova/siglip-* in transformers.js's layout) scores each label on its own with
sigmoid(logit_scale * cos + logit_bias) instead of CLIP's softmax over the labels; its onnx/model.onnx returns
logits_per_image = exp(logit_scale) * cos + logit_bias. The fixture is clip-shapes with that bias (LOGIT_BIAS) added to
both logits outputs of onnx/model.onnx, and config.json saying model_type "siglip" (architectures SiglipModel). The
towers are clip-shapes' own, so embeddings and the logit scale equal the clip-shapes goldens.
"""

import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper

LOGIT_BIAS = -10.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    dst = os.path.join(args.out, "siglip-shapes")
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(os.path.join(args.models, "clip-shapes"), dst, ignore=shutil.ignore_patterns("goldens"))

    path = os.path.join(dst, "onnx", "model.onnx")
    model = onnx.load(path)
    g = model.graph
    g.initializer.append(numpy_helper.from_array(np.array(LOGIT_BIAS, np.float32), "logit_bias"))
    for name in ("logits_per_image", "logits_per_text"):
        raw = name + "_unbiased"
        for n in g.node:
            for k, o in enumerate(n.output):
                if o == name:
                    n.output[k] = raw
            for k, i in enumerate(n.input):
                if i == name:
                    n.input[k] = raw
        g.node.append(helper.make_node("Add", [raw, "logit_bias"], [name], name=name + "_bias"))
    onnx.save_model(model, path)
    onnx.checker.check_model(path)

    with open(os.path.join(dst, "config.json")) as f:
        config = json.load(f)
    config["model_type"] = "siglip"
    config["architectures"] = ["SiglipModel"]
    config["text_config"]["model_type"] = "siglip_text_model"
    config["vision_config"]["model_type"] = "siglip_vision_model"
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"  siglip-shapes: clip-shapes with logit_bias {LOGIT_BIAS}")


if __name__ == "__main__":
    main()
