# Measurement only (README, "Packages for every platform"): the int8 graph with its head in 4-bit
# blocks (MatMulNBits) and optionally its embedding too (GatherBlockQuantized), re-quantized from the
# int8 graph's own weights, symmetric, round to nearest.
#   PYTHONPATH=training training/.venv/bin/python scripts/weights/q4_head.py models/default OUT head|head+embed [BLOCK=32]
# then: node out/bench/eval.js --humaneval single --limit 100 --model OUT
import sys, os, json, shutil, hashlib
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
src, out, what = sys.argv[1], sys.argv[2], sys.argv[3]  # what: head | head+embed
BLOCK = int(sys.argv[4]) if len(sys.argv) > 4 else 32
m = onnx.load(os.path.join(src, 'model.onnx'))
g = m.graph
inits = {t.name: t for t in g.initializer}
arr = lambda n: numpy_helper.to_array(inits[n])

def q4(w):  # w [rows, K]: blocks of BLOCK along K, symmetric, zero point 8
    rows, K = w.shape
    nb = K // BLOCK
    wb = w.reshape(rows, nb, BLOCK)
    scale = np.abs(wb).max(axis=2) / 7.0
    scale[scale == 0] = 1e-8
    q = np.clip(np.round(wb / scale[:, :, None]) + 8, 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)  # [rows, nb, BLOCK/2]
    return packed, scale.astype(np.float32)

remove_nodes, new_nodes, drop = [], [], set()
# head: logits = Mul(Cast(MatMulInteger(DQL(x), head_q)), scales) -> MatMulNBits(x)
mm = next(n for n in g.node if n.op_type == 'MatMulInteger' and n.input[1] == 'head_quantized')
cast = next(n for n in g.node if n.input and n.input[0] == mm.output[0])
mul = next(n for n in g.node if n.input and n.input[0] == cast.output[0])
wq = arr('head_quantized').astype(np.float32) - arr('head_zero_point').astype(np.float32)[None, :]
W = wq * arr('head_scale')[None, :]  # [K=576, N]
packed, scale = q4(W.T.copy())
x = '/Slice_output_0'
new_nodes.append(helper.make_node('MatMulNBits', [x, 'head_q4', 'head_q4_scales'], [mul.output[0]], domain='com.microsoft',
                                  K=W.shape[0], N=W.shape[1], bits=4, block_size=BLOCK, name='/head/MatMulNBits'))
remove_nodes += [mm, cast, mul]
g.initializer.extend([numpy_helper.from_array(packed, 'head_q4'), numpy_helper.from_array(scale.reshape(-1), 'head_q4_scales')])
drop |= {'head_quantized', 'head_zero_point', 'head_scale'}
if 'embed' in what:
    gat = next(n for n in g.node if n.op_type == 'Gather' and n.input[0] == 'model.embed.weight_quantized')
    dq = next(n for n in g.node if n.input and n.input[0] == gat.output[0])
    E = (arr('model.embed.weight_quantized').astype(np.float32) - float(arr('model.embed.weight_zero_point'))) * float(arr('model.embed.weight_scale'))
    ep, es = q4(E)  # [V, nb, BLOCK/2], [V, nb]
    new_nodes.append(helper.make_node('GatherBlockQuantized', ['embed_q4', gat.input[1], 'embed_q4_scales'], [dq.output[0]], domain='com.microsoft',
                                      gather_axis=0, quantize_axis=1, block_size=BLOCK, bits=4, name='/embed/GatherBlockQuantized'))
    g.initializer.extend([numpy_helper.from_array(ep.reshape(E.shape[0], -1), 'embed_q4'), numpy_helper.from_array(es, 'embed_q4_scales')])
    remove_nodes += [gat, dq]
    drop |= {'model.embed.weight_quantized', 'model.embed.weight_zero_point', 'model.embed.weight_scale'}
# DQL of the head input may now be unused
for n in remove_nodes: g.node.remove(n)
g.node.extend(new_nodes)
new_nodes = []
outs = {o.name for o in g.output}
while True:
    used = {i for n in g.node for i in n.input} | outs
    dead = [n for n in g.node if not any(o in used for o in n.output)]
    if not dead: break
    for n in dead: g.node.remove(n)
keep = [t for t in g.initializer if t.name not in drop]
del g.initializer[:]
g.initializer.extend(keep)
g.node.extend(new_nodes)  # onnxruntime sorts the graph itself
if not any(o.domain == 'com.microsoft' for o in m.opset_import):
    m.opset_import.append(helper.make_opsetid('com.microsoft', 1))
shutil.rmtree(out, ignore_errors=True)  # onnx.save appends to an existing weights file
os.makedirs(out)
onnx.save(m, os.path.join(out, 'model.onnx'), save_as_external_data=True, all_tensors_to_one_file=True, location='model.onnx.0.weights', size_threshold=1024)
man = json.load(open(os.path.join(src, 'model.json')))
man['files']['weights'] = ['model.onnx.0.weights']
man['name'] = 'default-q4' + what
files = ['model.onnx', 'model.onnx.0.weights']
man['onnx_bytes'] = sum(os.path.getsize(os.path.join(out, f)) for f in files)
h = hashlib.sha256()
for f in files: h.update(open(os.path.join(out, f), 'rb').read())
man['onnx_sha256'] = h.hexdigest()
json.dump(man, open(os.path.join(out, 'model.json'), 'w'), indent=2)
for f in ['tokenizer.json', 'parity.json']: shutil.copy(os.path.join(src, f), out)
print(out, man['onnx_bytes'] / 1e6, 'MB graph + weights')
