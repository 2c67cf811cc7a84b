#!/usr/bin/env python3
"""Stable Diffusion export variants made from the bundled sd-shapes (diffusers ONNX layout).

Each fixture is a whole model folder under --out, named as below; the tests load it and compare its images with
the bundled model's:

  sd-unet-batch1      the UNet's batch fixed at 1 (sample [1,4,h,w], timestep [1], encoder_hidden_states [1,seq,dim]),
                      as some exports pin it: classifier-free guidance must then run as two UNet calls.
  sd-timestep-int64   the UNet takes `timestep` as int64 (Optimum's exports), cast to float inside the graph.
  sd-turbo-shapes     SD-Turbo's folder: EulerDiscreteScheduler with "trailing" spacing, a StableDiffusionPipeline
                      model_index.json whose "_hub_defaults" say one step without guidance.
  sd-fp16             diffusers' fp16 export: fp16 weights and fp16 inputs/outputs for text_encoder (ids stay int32),
                      unet (timestep fp16 too), vae_decoder and vae_encoder; the timestep embedding stays float32 inside,
                      as torch computes it.
  sd-external-data    weights outside the graphs: unet/model.onnx + unet/weights.pb (diffusers' own exporter, the
                      runwayml onnx revision, which also has no unet/ or vae_decoder/ config.json), text_encoder and
                      vae_decoder with model.onnx_data (Optimum).
  sd-unet-sdxl-inputs a UNet that also takes SDXL's text_embeds and time_ids: the hub must refuse it at load, naming them.
  sd15-layout         SD 1.5's folder and configs (runwayml/stable-diffusion-v1-5, onnx): PNDMScheduler config,
                      unet sample_size 64 with four levels, vae scaling_factor 0.18215, a feature_extractor; 512x512 by default.

Usage: make_diffusion_layouts.py --models models --out artifacts/fixtures   (Debian python3-onnx, python3-numpy)
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

GRAPHS = ["text_encoder", "unet", "vae_decoder", "vae_encoder"]


def copy_model(src, dst):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("goldens"))


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(model, path):
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


# ---------------------------------------------------------------- fixed batch

def fix_batch(model, size=1):
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) > 0:
            dims[0].Clear()
            dims[0].dim_value = size
    return model


# ---------------------------------------------------------------- int64 timestep

def timestep_as(model, elem_type, name="timestep"):
    """The graph input `name` becomes elem_type and is cast back to float32 for the nodes that read it."""
    inner = name + "_as_float"
    for node in model.graph.node:
        for i, x in enumerate(node.input):
            if x == name:
                node.input[i] = inner
    for value in model.graph.input:
        if value.name == name:
            value.type.tensor_type.elem_type = elem_type
    model.graph.node.insert(0, helper.make_node("Cast", [name], [inner], to=TensorProto.FLOAT, name="timestep_cast"))
    return model


# ---------------------------------------------------------------- fp16

# Inputs that ONNX requires in float32 whatever the data type (Resize's roi and scales).
FLOAT_ONLY_INPUTS = {("Resize", 1), ("Resize", 2), ("Upsample", 1)}


def to_half(arr):
    """float32 to float16, finite values clipped to fp16's range (torch's fp16 export uses finfo(float16).min for masks)."""
    return np.where(np.isfinite(arr), np.clip(arr, -65504, 65504), arr).astype(np.float16)


def to_fp16(model, keep_float_from=()):
    """
    Converts a float32 graph to float16 as torch's fp16 export leaves it: float initializers, constants, casts and the
    graph's float inputs/outputs in fp16. Nodes computed from `keep_float_from` inputs and constants alone (the
    timestep embedding) stay float32, with Casts where the two meet, so that sin/cos of large timesteps stay exact.
    """
    model = shape_inference.infer_shapes(model)
    g = model.graph
    f32, f16 = TensorProto.FLOAT, TensorProto.FLOAT16
    types = {}
    for v in list(g.input) + list(g.output) + list(g.value_info):
        types[v.name] = v.type.tensor_type.elem_type
    for t in g.initializer:
        types[t.name] = t.data_type
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    types[n.output[0]] = a.t.data_type

    # Which tensors derive from the graph's data inputs other than keep_float_from.
    data_inputs = {v.name for v in g.input if v.name not in keep_float_from} - {t.name for t in g.initializer}
    tainted = set(data_inputs)
    keep = set()
    for n in g.node:  # nodes are topologically sorted in an ONNX graph
        if any(x in tainted for x in n.input if x):
            tainted.update(n.output)
        else:
            keep.add(id(n))

    # New type of each float tensor: fp16 unless produced by a kept (float32) node.
    new_type = {}
    for t in g.initializer:
        if t.data_type == f32:
            arr = to_half(numpy_helper.to_array(t))
            t.CopyFrom(numpy_helper.from_array(arr, t.name))
            new_type[t.name] = f16
    for v in g.input:
        if v.type.tensor_type.elem_type == f32:
            v.type.tensor_type.elem_type = f16
            new_type[v.name] = f16
    for n in g.node:
        half = id(n) not in keep
        if half:
            if n.op_type == "Cast":
                for a in n.attribute:
                    if a.name == "to" and a.i == f32:
                        a.i = f16
            if n.op_type in ("Constant", "ConstantOfShape"):
                for a in n.attribute:
                    if a.name == "value" and a.t.data_type == f32:
                        arr = to_half(numpy_helper.to_array(a.t))
                        a.t.CopyFrom(numpy_helper.from_array(arr, a.t.name))
        for o in n.output:
            produced = types.get(o)
            if n.op_type == "Cast":
                to = next(a.i for a in n.attribute if a.name == "to")
                new_type[o] = to
            elif produced == f32:
                new_type[o] = f16 if half else f32

    # Casts where a tensor's new type differs from what its consumer needs.
    casts = {}
    nodes = []

    def cast_of(name, to):
        key = (name, to)
        if key not in casts:
            out = f"{name}_to_{'fp16' if to == f16 else 'fp32'}"
            casts[key] = out
            nodes.append(helper.make_node("Cast", [name], [out], to=to, name=out))
        return casts[key]

    for n in g.node:
        half = id(n) not in keep
        for i, x in enumerate(n.input):
            if not x or types.get(x) != f32:
                continue
            if n.op_type == "Cast" and i == 0:
                continue  # a Cast reads any type
            want = f32 if (not half or (n.op_type, i) in FLOAT_ONLY_INPUTS) else f16
            if new_type.get(x, f32) != want:
                n.input[i] = cast_of(x, want)
        nodes.append(n)

    # Float outputs are fp16 (a kept node's output gets a final Cast).
    for v in g.output:
        if v.type.tensor_type.elem_type == f32:
            if new_type.get(v.name) == f32:
                inner = v.name + "_fp32"
                for n in nodes:
                    for i, o in enumerate(n.output):
                        if o == v.name:
                            n.output[i] = inner
                    for i, x in enumerate(n.input):
                        if x == v.name:
                            n.input[i] = inner
                nodes.append(helper.make_node("Cast", [inner], [v.name], to=f16, name=v.name + "_cast"))
            v.type.tensor_type.elem_type = f16

    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]
    return model


# ---------------------------------------------------------------- external data

def save_external(model, path, location):
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=location, size_threshold=0)


# ---------------------------------------------------------------- fixtures

def make_unet_batch1(models, out):
    dst = os.path.join(out, "sd-unet-batch1")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    path = os.path.join(dst, "unet", "model.onnx")
    save(fix_batch(onnx.load(path)), path)


def make_timestep_int64(models, out):
    dst = os.path.join(out, "sd-timestep-int64")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    path = os.path.join(dst, "unet", "model.onnx")
    save(timestep_as(onnx.load(path), TensorProto.INT64), path)


def make_turbo(models, out):
    dst = os.path.join(out, "sd-turbo-shapes")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    # stabilityai/sd-turbo's scheduler (diffusers 0.24): Euler, trailing spacing; model card: 1 step, guidance_scale 0.
    write_json(os.path.join(dst, "scheduler", "scheduler_config.json"), {
        "_class_name": "EulerDiscreteScheduler",
        "_diffusers_version": "0.24.0.dev0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "interpolation_type": "linear",
        "num_train_timesteps": 1000,
        "prediction_type": "epsilon",
        "sample_max_value": 1.0,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "timestep_spacing": "trailing",
        "trained_betas": None,
        "use_karras_sigmas": False,
    })
    index = read_json(os.path.join(dst, "model_index.json"))
    index["_class_name"] = "OnnxStableDiffusionPipeline"
    index["_name_or_path"] = "stabilityai/sd-turbo"
    index["scheduler"] = ["diffusers", "EulerDiscreteScheduler"]
    index["_hub_defaults"] = {"num_inference_steps": 1, "guidance_scale": 0.0}
    write_json(os.path.join(dst, "model_index.json"), index)


def make_fp16(models, out):
    dst = os.path.join(out, "sd-fp16")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    for graph in GRAPHS:
        path = os.path.join(dst, graph, "model.onnx")
        keep = ("timestep",) if graph == "unet" else ()
        save(to_fp16(onnx.load(path), keep), path)
    for graph in ("unet", "vae_decoder", "vae_encoder", "text_encoder"):
        cfg = os.path.join(dst, graph, "config.json")
        if os.path.exists(cfg):
            data = read_json(cfg)
            data["torch_dtype"] = "float16"
            write_json(cfg, data)


def make_external(models, out):
    dst = os.path.join(out, "sd-external-data")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    for graph, location in (("unet", "weights.pb"), ("text_encoder", "model.onnx_data"), ("vae_decoder", "model.onnx_data")):
        path = os.path.join(dst, graph, "model.onnx")
        save_external(onnx.load(path), path, location)
    # diffusers' convert_stable_diffusion_checkpoint_to_onnx.py writes no config.json beside the UNet and the VAE.
    for graph in ("unet", "vae_decoder", "vae_encoder"):
        os.remove(os.path.join(dst, graph, "config.json"))


def make_sdxl_inputs(models, out):
    dst = os.path.join(out, "sd-unet-sdxl-inputs")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    path = os.path.join(dst, "unet", "model.onnx")
    model = onnx.load(path)
    model.graph.input.extend([
        helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", 1280]),
        helper.make_tensor_value_info("time_ids", TensorProto.FLOAT, ["batch", 6]),
    ])
    save(model, path)


def make_sd15(models, out):
    dst = os.path.join(out, "sd15-layout")
    copy_model(os.path.join(models, "sd-shapes"), dst)
    write_json(os.path.join(dst, "scheduler", "scheduler_config.json"), {
        "_class_name": "PNDMScheduler",
        "_diffusers_version": "0.6.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "num_train_timesteps": 1000,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "trained_betas": None,
        "clip_sample": False,
    })
    index = read_json(os.path.join(dst, "model_index.json"))
    index.update({
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": "0.6.0",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "safety_checker": [None, None],
        "requires_safety_checker": False,
        "scheduler": ["diffusers", "PNDMScheduler"],
    })
    write_json(os.path.join(dst, "model_index.json"), index)
    os.makedirs(os.path.join(dst, "feature_extractor"), exist_ok=True)
    write_json(os.path.join(dst, "feature_extractor", "preprocessor_config.json"), {
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3, "size": 224,
    })
    unet = read_json(os.path.join(dst, "unet", "config.json"))
    unet.update({
        "_diffusers_version": "0.6.0", "sample_size": 64, "block_out_channels": [320, 640, 1280, 1280],
        "cross_attention_dim": 768, "attention_head_dim": 8, "layers_per_block": 2, "norm_num_groups": 32,
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    })
    unet.pop("_note", None)
    write_json(os.path.join(dst, "unet", "config.json"), unet)
    for graph in ("vae_decoder", "vae_encoder"):
        path = os.path.join(dst, graph, "config.json")
        vae = read_json(path)
        vae.update({"_diffusers_version": "0.6.0", "sample_size": 512, "block_out_channels": [128, 256, 512, 512],
                    "norm_num_groups": 32, "layers_per_block": 2, "scaling_factor": 0.18215})
        vae.pop("_note", None)
        write_json(path, vae)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for make in (make_unet_batch1, make_timestep_int64, make_turbo, make_fp16, make_external, make_sdxl_inputs, make_sd15):
        make(args.models, args.out)


if __name__ == "__main__":
    main()
