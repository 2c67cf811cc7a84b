"""shapes-vlm in the layout of onnx-community's SmolVLM / Idefics3 exports.

Writes artifacts/fixtures/idefics3-layout/:
  onnx/vision_encoder.onnx   inputs pixel_values [batch_size, num_images, 3, 224, 224] (float) and
                             pixel_attention_mask [batch_size, num_images, 224, 224] (bool), output image_features
                             [batch_size * num_images, 32, 128]: the bundled encoder run on every image (tile) of the
                             batch, pixels outside the mask zeroed first, as SmolVLM's vision_encoder.onnx takes them
  onnx/embed_tokens.onnx, onnx/decoder_model_merged.onnx   the bundled graphs, unchanged
  config.json                model_type "idefics3" (Idefics3ForConditionalGeneration), image_token_id, scale_factor,
                             vision_config and the bundled text_config
  preprocessor_config.json   Idefics3ImageProcessor: do_image_splitting, size.longest_edge 448 (2 tiles a side),
                             max_image_size.longest_edge 224 (the encoder's input), resample 1 (Lanczos), CLIP's
                             mean/std (what the bundled encoder was trained on)
  processor_config.json      image_seq_len 32 (Idefics3Processor reads it from here)
  tokenizer.json, tokenizer_config.json, special_tokens_map.json   the bundled tokenizer plus SmolVLM's special tokens
                             <fake_token_around_image>, <global-img>, <end_of_utterance> and <row_R_col_C> (R, C in
                             1..6) as added special tokens with the unused ids from 1286 on (embed_tokens has 1344 rows)
The decoder never saw the structure tokens, so answers differ from the bundled model's; what the tests check is in
Tests/Fixtures/README.md.
"""

import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SRC = "shapes-vlm"
NAME = "idefics3-layout"
TILE = 224
SEQ = 32
FIRST_FREE_ID = 1286


def special_tokens():
    names = ["<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
    names += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    return [(FIRST_FREE_ID + i, n) for i, n in enumerate(names)]


def added(token_id, content):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def tokenizer_files(src, dst):
    tokens = special_tokens()
    tok = read_json(os.path.join(src, "tokenizer.json"))
    used = {t["id"] for t in tok["added_tokens"]}
    assert not used & {i for i, _ in tokens}, "the ids for the new tokens must be unused"
    tok["added_tokens"] += [added(i, n) for i, n in tokens]
    write_json(os.path.join(dst, "tokenizer.json"), tok)

    cfg = read_json(os.path.join(src, "tokenizer_config.json"))
    for i, n in tokens:
        cfg["added_tokens_decoder"][str(i)] = {k: v for k, v in added(i, n).items() if k != "id"}
    cfg["additional_special_tokens"] += [n for _, n in tokens]
    write_json(os.path.join(dst, "tokenizer_config.json"), cfg)

    stm = read_json(os.path.join(src, "special_tokens_map.json"))
    stm["additional_special_tokens"] += [n for _, n in tokens]
    write_json(os.path.join(dst, "special_tokens_map.json"), stm)


def configs(src, dst):
    base = read_json(os.path.join(src, "config.json"))
    vision = base["vision_config"]
    config = {
        "architectures": ["Idefics3ForConditionalGeneration"],
        "model_type": "idefics3",
        "image_token_id": base["image_token_id"],
        "scale_factor": 1,
        "pad_token_id": base["pad_token_id"],
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "text_config": base["text_config"],
        "vision_config": {"model_type": "idefics3_vision", "image_size": TILE, "patch_size": vision["patch_size"],
                          "hidden_size": vision["hidden_size"], "num_channels": 3},
    }
    write_json(os.path.join(dst, "config.json"), config)
    write_json(os.path.join(dst, "preprocessor_config.json"), {
        "do_convert_rgb": True,
        "do_image_splitting": True,
        "do_normalize": True,
        "do_pad": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": vision["image_mean"],
        "image_processor_type": "Idefics3ImageProcessor",
        "image_std": vision["image_std"],
        "max_image_size": {"longest_edge": TILE},
        "processor_class": "Idefics3Processor",
        "resample": 1,
        "rescale_factor": 1 / 255,
        "size": {"longest_edge": 2 * TILE},
    })
    write_json(os.path.join(dst, "processor_config.json"), {"image_seq_len": SEQ, "processor_class": "Idefics3Processor"})


def wrapped_vision_encoder(path):
    """[b, n, 3, H, W] + mask [b, n, H, W] -> the bundled encoder on [b*n, 3, H, W] -> [b*n, seq, hidden]."""
    model = onnx.load(path)
    g = model.graph
    (old_input,) = g.input
    assert old_input.name == "pixel_values"
    for n in g.node:
        for k, name in enumerate(n.input):
            if name == "pixel_values":
                n.input[k] = "pixel_values_flat"
    del g.input[:]
    g.input.extend([
        helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch_size", "num_images", 3, TILE, TILE]),
        helper.make_tensor_value_info("pixel_attention_mask", TensorProto.BOOL, ["batch_size", "num_images", TILE, TILE]),
    ])
    g.initializer.extend([
        numpy_helper.from_array(np.array([2], dtype=np.int64), "wrap_channel_axis"),
        numpy_helper.from_array(np.array([-1, 3, TILE, TILE], dtype=np.int64), "wrap_flat_shape"),
    ])
    wrap = [
        helper.make_node("Cast", ["pixel_attention_mask"], ["wrap_mask_float"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["wrap_mask_float", "wrap_channel_axis"], ["wrap_mask_5d"]),
        helper.make_node("Mul", ["pixel_values", "wrap_mask_5d"], ["wrap_masked"]),
        helper.make_node("Reshape", ["wrap_masked", "wrap_flat_shape"], ["pixel_values_flat"]),
    ]
    for n in reversed(wrap):
        g.node.insert(0, n)
    out = g.output[0]
    out.type.tensor_type.shape.dim[0].dim_param = "num_tiles"
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    src = os.path.join(args.models, SRC)
    dst = os.path.join(args.out, NAME)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("goldens", "preprocessor_config.json"))
    tokenizer_files(src, dst)
    configs(src, dst)
    wrapped_vision_encoder(os.path.join(dst, "onnx", "vision_encoder.onnx"))
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
