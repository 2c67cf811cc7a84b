"""The bundled clip-shapes, shapes-chat and shapes-vlm in every file variant transformers.js / Optimum repositories ship.

Writes artifacts/fixtures/variants-<model>/ laid out as the bundled model (configs, tokenizer, onnx/), where each graph
onnx/<graph>.onnx exists as:
  <graph>.onnx + <graph>.onnx_data   fp32 with external data (Optimum's naming)
  <graph>_fp16.onnx                   fp16 weights, inputs and outputs (KV caches too); ids and masks stay int64
  <graph>_quantized.onnx, _uint8      int8 dynamic quantisation, uint8 weights
  <graph>_int8.onnx                   int8 dynamic quantisation, int8 weights
  <graph>_q4.onnx                     4-bit MatMulNBits (block 32), the rest fp32
  <graph>_q4f16.onnx                  4-bit MatMulNBits, the rest fp16
"""

import argparse
import os
import shutil

import onnx

from onnx_variants import quantize_dynamic, quantize_q4, save, to_fp16

MODELS = ["clip-shapes", "shapes-chat", "shapes-vlm"]


def copy_layout(src, dst):
    """Everything but the .onnx graphs and the goldens."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "goldens"]
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for f in files:
            if not f.endswith(".onnx"):
                shutil.copy2(os.path.join(root, f), os.path.join(dst, rel, f))


def variants(model):
    q4 = quantize_q4(model)
    return {
        "_fp16": to_fp16(model),
        "_quantized": quantize_dynamic(model, signed=False),
        "_uint8": quantize_dynamic(model, signed=False),
        "_int8": quantize_dynamic(model, signed=True),
        "_q4": q4,
        "_q4f16": to_fp16(q4),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    for name in MODELS:
        src = os.path.join(args.models, name)
        dst = os.path.join(args.out, "variants-" + name)
        copy_layout(src, dst)
        onnx_dir = os.path.join(src, "onnx")
        for f in sorted(os.listdir(onnx_dir)):
            if not f.endswith(".onnx"):
                continue
            graph = f[: -len(".onnx")]
            model = onnx.load(os.path.join(onnx_dir, f))
            for suffix, variant in variants(model).items():
                save(variant, os.path.join(dst, "onnx", graph + suffix + ".onnx"))
            save(model, os.path.join(dst, "onnx", f), external_data=True)
        print(f"  variants-{name}: " + ", ".join(sorted(os.listdir(os.path.join(dst, "onnx")))))


if __name__ == "__main__":
    main()
