"""Appends ai.semseg::DenseCRF to an exported segmentation graph.

    python models/add_crf.py IN.onnx OUT.onnx [--iterations 5 --bi-xy-std 8 ...]

The graph's first output (logits N x C x H x W) feeds
DenseCRF(logits, image) -> probabilities, the fully connected CRF of DeepLab
(Kraehenbuehl & Koltun 2011) with mean-field inference. `image` becomes a
second graph input: N x 3 x H x W float RGB in 0..255, the same H and W (and
the same symbolic dim names) as the network's input, unnormalized, since the
bilateral kernel compares colours. The new output replaces the logits.
Attributes: iterations (int); pos_w, pos_xy_std, bi_w, bi_xy_std,
bi_rgb_std (floats); normalization ('after' | 'symmetric'); output
('prob' | 'logprob'). Defaults are DeepLab-v2's VOC settings, as in
docs/densecrf.md; pass smaller spatial deviations for small images.
"""
import argparse

import onnx
from onnx import TensorProto, helper

SEMSEG_DOMAIN = "ai.semseg"

DEFAULTS = {"iterations": 10, "pos_w": 3.0, "pos_xy_std": 1.0, "bi_w": 4.0,
            "bi_xy_std": 67.0, "bi_rgb_std": 3.0, "normalization": "after",
            "output": "prob"}


def _dims_like(value_info, channels):
    """N, channels, H, W copied from a rank-4 value_info (dim_param or dim_value)."""
    src = value_info.type.tensor_type.shape.dim
    dims = []
    for i in range(4):
        if i == 1:
            dims.append(channels)
        elif src[i].dim_param:
            dims.append(src[i].dim_param)
        elif src[i].HasField("dim_value"):
            dims.append(src[i].dim_value)
        else:
            dims.append(None)
    return dims


def append_dense_crf(mp, image_name="image", output_name="probabilities", **attrs):
    """Modifies ModelProto mp in place and returns it."""
    a = dict(DEFAULTS)
    a.update({k: v for k, v in attrs.items() if v is not None})
    g = mp.graph
    logits = g.output[0]
    net_input = g.input[0]
    image = helper.make_tensor_value_info(image_name, TensorProto.FLOAT, _dims_like(net_input, 3))
    g.input.append(image)
    node = helper.make_node(
        "DenseCRF", [logits.name, image_name], [output_name], name="dense_crf",
        domain=SEMSEG_DOMAIN,
        iterations=int(a["iterations"]), pos_w=float(a["pos_w"]),
        pos_xy_std=float(a["pos_xy_std"]), bi_w=float(a["bi_w"]),
        bi_xy_std=float(a["bi_xy_std"]), bi_rgb_std=float(a["bi_rgb_std"]),
        normalization=str(a["normalization"]), output=str(a["output"]))
    g.node.append(node)
    cdim = logits.type.tensor_type.shape.dim[1]
    channels = cdim.dim_value if cdim.HasField("dim_value") else None
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, _dims_like(logits, channels))
    del g.output[:]
    g.output.append(out)
    if not any(o.domain == SEMSEG_DOMAIN for o in mp.opset_import):
        mp.opset_import.append(helper.make_opsetid(SEMSEG_DOMAIN, 1))
    e = mp.metadata_props.add()
    e.key, e.value = "semseg.crf_image", f"input '{image_name}': N x 3 x H x W RGB float 0..255"
    return mp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=None,
                        help=f"default {v}")
    args = ap.parse_args()
    mp = onnx.load(args.src)
    append_dense_crf(mp, **{k: getattr(args, k) for k in DEFAULTS})
    onnx.checker.check_model(mp)
    onnx.save(mp, args.dst)
    print(f"{args.dst}: {len(mp.graph.node)} nodes, inputs "
          + ", ".join(i.name for i in mp.graph.input) + ", output " + mp.graph.output[0].name)


if __name__ == "__main__":
    main()
