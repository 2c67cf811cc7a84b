"""Weight and precision variants of an ONNX graph, written the way the public export tools write them.

No onnxruntime (Python) here, so the rewrites are done by hand with the onnx helper, following what the tools emit:

- fp16: Optimum / onnxconverter-common's convert_float_to_float16 with keep_io_types=False (transformers.js
  `*_fp16.onnx`): every float tensor (initializers, Constant values, graph inputs and outputs, KV caches included)
  becomes float16, Casts to float become Casts to float16, integer inputs (ids, masks) stay int64. Values outside the
  float16 range are clipped to +-65504 (the attention mask's finfo(float32).min). Ops named in `keep_fp32` run in
  float32 between inserted Casts.
- int8 dynamic quantisation: onnxruntime.quantization.quantize_dynamic's MatMul rewrite (DynamicQuantizeLinear on the
  activation, MatMulInteger on the quantised weight, Cast and Mul by the two scales), weights per tensor as uint8
  (asymmetric) or int8 (symmetric); embedding tables (Gather on an initializer) stored quantised behind a
  DequantizeLinear, as quantize_dynamic does for Gather.
- q4: onnxruntime's MatMul4BitsQuantizer (com.microsoft MatMulNBits, 4 bits, blocks of 32 along K, symmetric: no
  zero points, so 8 is the zero), every other tensor float32; q4f16 is q4 with the rest converted to fp16.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP16_MAX = 65504.0


def _float_initializers(graph):
    return {t.name: t for t in graph.initializer if t.data_type == TensorProto.FLOAT}


def _to_fp16_tensor(t):
    a = numpy_helper.to_array(t).astype(np.float32)
    a = np.clip(a, -FP16_MAX, FP16_MAX).astype(np.float16)
    return numpy_helper.from_array(a, t.name)


def _set_io_type(values, old, new):
    for v in values:
        if v.type.tensor_type.elem_type == old:
            v.type.tensor_type.elem_type = new


def to_fp16(model, keep_fp32=()):
    """A float16 copy of the model (inputs, outputs, weights, constants); ops in keep_fp32 run in float32 between Casts."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(_to_fp16_tensor(t))
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(_to_fp16_tensor(a.t))
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
    _set_io_type(g.input, TensorProto.FLOAT, TensorProto.FLOAT16)
    _set_io_type(g.output, TensorProto.FLOAT, TensorProto.FLOAT16)
    del g.value_info[:]
    if keep_fp32:
        _keep_in_fp32(g, set(keep_fp32))
    return m


def _keep_in_fp32(g, ops):
    nodes = []
    for n in g.node:
        if n.op_type not in ops:
            nodes.append(n)
            continue
        for k, name in enumerate(n.input):
            if not name:
                continue
            cast = name + "_to_fp32_" + n.name.replace("/", "_")
            nodes.append(helper.make_node("Cast", [name], [cast], to=TensorProto.FLOAT, name=cast))
            n.input[k] = cast
        nodes.append(n)
        for k, name in enumerate(n.output):
            inner = name + "_fp32"
            n.output[k] = inner
            nodes.append(helper.make_node("Cast", [inner], [name], to=TensorProto.FLOAT16, name=inner + "_to_fp16"))
    del g.node[:]
    g.node.extend(nodes)


def _weight_matmuls(g):
    """MatMul nodes whose B input is a 2-D float initializer: (index, node, weight array)."""
    inits = _float_initializers(g)
    for i, n in enumerate(g.node):
        if n.op_type == "MatMul" and n.input[1] in inits and len(inits[n.input[1]].dims) == 2:
            yield i, n, numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)


def _quantize_weight(w, signed):
    if signed:
        scale = max(float(np.abs(w).max()), 1e-8) / 127.0
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        return q, np.float32(scale), np.int8(0)
    lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    scale = max(hi - lo, 1e-8) / 255.0
    zp = int(np.clip(np.round(-lo / scale), 0, 255))
    q = np.clip(np.round(w / scale) + zp, 0, 255).astype(np.uint8)
    return q, np.float32(scale), np.uint8(zp)


def quantize_dynamic(model, signed):
    """quantize_dynamic's MatMul and Gather rewrites; signed=True for int8 weights, False for uint8."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    used = set()
    replace = {}
    new_inits = []
    for i, n, w in list(_weight_matmuls(g)):
        a, b, y = n.input[0], n.input[1], n.output[0]
        q, scale, zp = _quantize_weight(w, signed)
        new_inits += [numpy_helper.from_array(q, b + "_quantized"), numpy_helper.from_array(np.array(scale), b + "_scale"),
                      numpy_helper.from_array(np.array(zp), b + "_zero_point")]
        p = y + "_q"
        replace[i] = [
            helper.make_node("DynamicQuantizeLinear", [a], [p + "_a", p + "_a_scale", p + "_a_zp"], name=p + "_DynamicQuantizeLinear"),
            helper.make_node("MatMulInteger", [p + "_a", b + "_quantized", p + "_a_zp", b + "_zero_point"], [p + "_int32"], name=p + "_MatMulInteger"),
            helper.make_node("Cast", [p + "_int32"], [p + "_float"], to=TensorProto.FLOAT, name=p + "_Cast"),
            helper.make_node("Mul", [p + "_a_scale", b + "_scale"], [p + "_scale"], name=p + "_ScaleMul"),
            helper.make_node("Mul", [p + "_float", p + "_scale"], [y], name=p + "_Mul"),
        ]
        used.add(b)
    inits = _float_initializers(g)
    for i, n in enumerate(g.node):
        if n.op_type == "Gather" and n.input[0] in inits and n.input[0] not in used:
            name = n.input[0]
            q, scale, zp = _quantize_weight(numpy_helper.to_array(inits[name]).astype(np.float32), signed)
            new_inits += [numpy_helper.from_array(q, name + "_quantized"), numpy_helper.from_array(np.array(scale), name + "_scale"),
                          numpy_helper.from_array(np.array(zp), name + "_zero_point")]
            deq = helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"], [name + "_dequantized"],
                                   name=name + "_DequantizeLinear")
            n.input[0] = name + "_dequantized"
            replace[i] = [deq, n]
            used.add(name)
    _rewrite(g, replace, used, new_inits)
    return m


def quantize_q4(model, block_size=32):
    """MatMul4BitsQuantizer's rewrite: MatMul with a weight initializer -> com.microsoft MatMulNBits (4-bit, symmetric)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    replace = {}
    used = set()
    new_inits = []
    for i, n, w in list(_weight_matmuls(g)):
        k, cols = w.shape
        blocks = (k + block_size - 1) // block_size
        padded = np.zeros((blocks * block_size, cols), np.float32)
        padded[:k] = w
        wt = padded.T.reshape(cols, blocks, block_size)  # [N, blocks, block]
        amax = np.abs(wt).max(axis=2)
        scales = np.where(amax > 0, amax / 7.0, 1.0).astype(np.float32)  # [N, blocks]
        q = np.clip(np.round(wt / scales[:, :, None]) + 8, 0, 15).astype(np.uint8)
        packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)  # [N, blocks, block/2], low nibble first
        b = n.input[1]
        new_inits += [numpy_helper.from_array(packed, b + "_Q4"), numpy_helper.from_array(scales.reshape(-1), b + "_scales")]
        replace[i] = [helper.make_node("MatMulNBits", [n.input[0], b + "_Q4", b + "_scales"], [n.output[0]], name=n.name + "_Q4" if n.name else b + "_MatMulNBits",
                                           domain="com.microsoft", K=k, N=cols, bits=4, block_size=block_size)]
        used.add(b)
    _rewrite(g, replace, used, new_inits)
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return m


def _rewrite(g, replace, used, new_inits):
    nodes = []
    for i, n in enumerate(g.node):
        nodes.extend(replace.get(i, [n]))
    del g.node[:]
    g.node.extend(nodes)
    still = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name not in used or t.name in still]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    del g.value_info[:]


def save(model, path, external_data=False):
    """Write the model; with external_data every initializer goes to '<file>_data' beside it (Optimum's naming)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = os.path.basename(path) + "_data"
    if os.path.exists(path + "_data"):
        os.remove(path + "_data")
    if external_data:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=0)
    else:
        onnx.save_model(model, path)
    onnx.checker.check_model(path)
