"""shapes-chat as other decoder exports and model families write it.

Writes under artifacts/fixtures/:
  chat-no-position-ids   the decoder without a position_ids input: it derives positions from attention_mask inside the
                         graph (cumsum(mask) - 1, 1 on padding, the last sequence_length of them), as exports that drop
                         the input do
  chat-logits-to-keep    the decoder with a num_logits_to_keep input (int64 scalar): logits only for the last k
                         positions (k = 0: all), as transformers.js-era Optimum exports of Llama/Qwen2 have
  chat-llama             config.json with Llama's keys (LlamaForCausalLM, no head_dim), generation_config eos_token_id
                         an int
  chat-smollm2           SmolLM2's config (llama model_type, 8192 positions) with eos only in config.json (no
                         generation_config.json)
  chat-phi3              Phi-3's config (Phi3ForCausalLM, original_max_position_embeddings, sliding_window) and
                         generation_config eos_token_id a list of three ids
  chat-gpt2-keys         GPT-2 style keys only (n_layer, n_head, n_embd, n_positions): kv heads and head size come from
                         the cache's fixed dimensions
The graphs are the bundled model's; only the inputs or the configs differ, so every fixture answers as the original.
"""

import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SRC = "shapes-chat"


def copy_model(models, out, name):
    dst = os.path.join(out, name)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(os.path.join(models, SRC), dst, ignore=shutil.ignore_patterns("goldens"))
    return dst


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def without_position_ids(model):
    g = model.graph
    inputs = [i for i in g.input if i.name != "position_ids"]
    del g.input[:]
    g.input.extend(inputs)
    g.initializer.extend([const("pos_axis", 1), const("pos_one", 1), const("pos_zero", 0), const("pos_end", [2**62]), const("pos_axes", [1])])
    nodes = [
        helper.make_node("CumSum", ["attention_mask", "pos_axis"], ["pos_cumsum"]),
        helper.make_node("Sub", ["pos_cumsum", "pos_one"], ["pos_from_mask"]),
        helper.make_node("Equal", ["attention_mask", "pos_zero"], ["pos_is_pad"]),
        helper.make_node("Where", ["pos_is_pad", "pos_one", "pos_from_mask"], ["pos_all"]),
        helper.make_node("Shape", ["input_ids"], ["pos_seq_len"], start=1, end=2),
        helper.make_node("Neg", ["pos_seq_len"], ["pos_start"]),
        helper.make_node("Slice", ["pos_all", "pos_start", "pos_end", "pos_axes"], ["position_ids"]),
    ]
    for n in reversed(nodes):
        g.node.insert(0, n)
    return model


def with_logits_to_keep(model):
    g = model.graph
    for n in g.node:
        for k, o in enumerate(n.output):
            if o == "logits":
                n.output[k] = "logits_all"
    g.input.append(helper.make_tensor_value_info("num_logits_to_keep", TensorProto.INT64, []))
    g.initializer.extend([const("keep_axes", [0]), const("keep_end", [2**62]), const("keep_seq_axis", [1])])
    g.node.extend([
        helper.make_node("Unsqueeze", ["num_logits_to_keep", "keep_axes"], ["keep_1d"]),
        helper.make_node("Neg", ["keep_1d"], ["keep_start"]),
        helper.make_node("Slice", ["logits_all", "keep_start", "keep_end", "keep_seq_axis"], ["logits"]),
    ])
    for o in g.output:
        if o.name == "logits":
            o.type.tensor_type.shape.dim[1].dim_param = "num_logits_to_keep"
    return model


def rewrite_graph(dst, fn):
    path = os.path.join(dst, "onnx", "model.onnx")
    model = fn(onnx.load(path))
    onnx.save_model(model, path)
    onnx.checker.check_model(path)


def write_json(dst, name, data):
    path = os.path.join(dst, name)
    if data is None:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(args.models, SRC, "config.json")) as f:
        qwen = json.load(f)
    with open(os.path.join(args.models, SRC, "generation_config.json")) as f:
        gen = json.load(f)
    common = {k: qwen[k] for k in ["hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers", "num_key_value_heads",
                                   "rms_norm_eps", "rope_theta", "vocab_size", "tie_word_embeddings"]}

    rewrite_graph(copy_model(args.models, args.out, "chat-no-position-ids"), without_position_ids)
    rewrite_graph(copy_model(args.models, args.out, "chat-logits-to-keep"), with_logits_to_keep)

    dst = copy_model(args.models, args.out, "chat-llama")
    write_json(dst, "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common, "max_position_embeddings": 4096,
                                    "hidden_act": "silu", "attention_bias": True, "bos_token_id": 1282, "eos_token_id": 1284, "torch_dtype": "float32"})
    write_json(dst, "generation_config.json", {**gen, "eos_token_id": 1284})

    dst = copy_model(args.models, args.out, "chat-smollm2")
    write_json(dst, "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common, "max_position_embeddings": 8192,
                                    "hidden_act": "silu", "bos_token_id": 1282, "eos_token_id": 1284, "pad_token_id": 1282,
                                    "pretraining_tp": 1, "rope_scaling": None, "torch_dtype": "bfloat16"})
    write_json(dst, "generation_config.json", None)

    dst = copy_model(args.models, args.out, "chat-phi3")
    write_json(dst, "config.json", {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", **common, "max_position_embeddings": 4096,
                                    "original_max_position_embeddings": 4096, "sliding_window": 2047, "hidden_act": "silu",
                                    "bos_token_id": 1282, "eos_token_id": 1284, "pad_token_id": 1282, "torch_dtype": "bfloat16"})
    write_json(dst, "generation_config.json", {"bos_token_id": 1282, "eos_token_id": [1284, 1282, 1283], "pad_token_id": 1282, "do_sample": False})

    dst = copy_model(args.models, args.out, "chat-gpt2-keys")
    write_json(dst, "config.json", {"architectures": ["ShapesForCausalLM"], "model_type": "shapes", "n_layer": 4, "n_head": 4, "n_embd": 128,
                                    "n_positions": 1024, "vocab_size": qwen["vocab_size"], "bos_token_id": 1282, "eos_token_id": 1284})
    print("  chat layouts: chat-no-position-ids, chat-logits-to-keep, chat-llama, chat-smollm2, chat-phi3, chat-gpt2-keys")


if __name__ == "__main__":
    main()
