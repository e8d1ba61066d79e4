"""Write PyTorch goldens for dp's layer operations into nn/testdata.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 tools/reference/golden_nn_layers.py [family ...]

Each family (conv, pool, interp, norm, modules) becomes nn/testdata/layers_<family>.safetensors.
Every case stores, under keys prefixed "<case>/", its inputs and parameters
(float32, torch.manual_seed(0) per family), the output "y", a random upstream
gradient "dy" and the gradient of every input and parameter ("grad_<name>")
after y.backward(dy). BatchNorm cases store the running statistics before
("running_mean", "running_var") and after the forward ("running_mean_after",
"running_var_after"). The modules family holds state dicts instead (see
family_modules). The Go tests in nn/layers_golden_test.go rebuild each
case from the same numbers.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st import save  # noqa: E402

OUT = os.path.join("nn", "testdata")


def run(store, case, fn, **tensors):
    """Evaluate fn on leaves made from tensors, back-propagate a random dy."""
    leaves = {k: v.clone().float().requires_grad_(True) for k, v in tensors.items()}
    y = fn(**leaves)
    dy = torch.randn_like(y)
    y.backward(dy)
    for k, v in leaves.items():
        store[f"{case}/{k}"] = v.detach()
        store[f"{case}/grad_{k}"] = v.grad.detach()
    store[f"{case}/y"] = y.detach()
    store[f"{case}/dy"] = dy


def family_pool():
    s = {}
    cases = [
        ("max_k3_s2_p1", [2, 3, 9, 10], lambda x: F.max_pool2d(x, 3, 2, 1)),
        ("max_k2_ceil", [2, 3, 7, 7], lambda x: F.max_pool2d(x, 2, ceil_mode=True)),
        ("max_k3_s2_p1_ceil", [1, 2, 8, 9], lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
        ("max_k2x3_s1x2", [1, 2, 6, 7], lambda x: F.max_pool2d(x, (2, 3), (1, 2))),
        ("avg_k3_s2_p1", [2, 3, 9, 10], lambda x: F.avg_pool2d(x, 3, 2, 1)),
        ("avg_k3_s2_p1_exclude_pad", [2, 3, 9, 10], lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
        ("avg_k3_s2_p1_ceil", [1, 2, 8, 9], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
        ("avg_k2_ceil", [2, 2, 7, 5], lambda x: F.avg_pool2d(x, 2, ceil_mode=True)),
        ("adaptive_7x9_to_3x4", [2, 3, 7, 9], lambda x: F.adaptive_avg_pool2d(x, (3, 4))),
        ("adaptive_7x9_to_1x1", [2, 3, 7, 9], lambda x: F.adaptive_avg_pool2d(x, 1)),
        ("adaptive_5x4_to_6x6", [1, 2, 5, 4], lambda x: F.adaptive_avg_pool2d(x, 6)),
    ]
    for name, shape, fn in cases:
        run(s, name, fn, x=torch.randn(shape))
    return s


def family_interp():
    s = {}
    x = lambda *shape: torch.randn(shape)  # noqa: E731
    cases = [
        ("bilinear_size_up", x(2, 3, 5, 7), dict(size=(9, 12), mode="bilinear", align_corners=False)),
        ("bilinear_size_up_align", x(2, 3, 5, 7), dict(size=(9, 12), mode="bilinear", align_corners=True)),
        ("bilinear_size_down", x(1, 2, 9, 11), dict(size=(4, 5), mode="bilinear", align_corners=False)),
        ("bilinear_size_down_align", x(1, 2, 9, 11), dict(size=(4, 5), mode="bilinear", align_corners=True)),
        ("bilinear_scale_2", x(1, 2, 4, 5), dict(scale_factor=2.0, mode="bilinear", align_corners=False)),
        ("bilinear_scale_1.5", x(1, 2, 5, 7), dict(scale_factor=1.5, mode="bilinear", align_corners=False)),
        ("bilinear_scale_0.3", x(1, 2, 10, 13), dict(scale_factor=0.3, mode="bilinear", align_corners=False)),
        ("bilinear_scale_1.5_align", x(1, 2, 5, 7), dict(scale_factor=1.5, mode="bilinear", align_corners=True)),
        ("nearest_size_up", x(2, 3, 5, 7), dict(size=(9, 12), mode="nearest")),
        ("nearest_size_down", x(1, 2, 9, 11), dict(size=(4, 5), mode="nearest")),
        ("nearest_scale_2", x(1, 2, 4, 5), dict(scale_factor=2.0, mode="nearest")),
        ("nearest_scale_1.5", x(1, 2, 5, 7), dict(scale_factor=1.5, mode="nearest")),
        ("nearest_scale_0.5", x(1, 2, 8, 9), dict(scale_factor=0.5, mode="nearest")),
    ]
    for name, inp, kw in cases:
        run(s, name, lambda x: F.interpolate(x, **kw), x=inp)
    return s


def family_norm():
    s = {}
    for name, training, shape in [("batchnorm_train", True, [4, 3, 5, 6]),
                                  ("batchnorm_eval", False, [2, 3, 4, 5])]:
        c = shape[1]
        rm, rv = torch.randn(c) * 0.5, torch.rand(c) + 0.5
        s[f"{name}/running_mean"], s[f"{name}/running_var"] = rm.clone(), rv.clone()
        stats = {}

        def bn(x, weight, bias):
            stats["m"], stats["v"] = rm.clone(), rv.clone()
            return F.batch_norm(x, stats["m"], stats["v"], weight, bias, training=training, momentum=0.1, eps=1e-5)

        run(s, name, bn, x=torch.randn(shape) * 2 + 1, weight=torch.rand(c) + 0.5, bias=torch.randn(c))
        s[f"{name}/running_mean_after"], s[f"{name}/running_var_after"] = stats["m"], stats["v"]
    run(s, "groupnorm_g3", lambda x, weight, bias: F.group_norm(x, 3, weight, bias, 1e-5),
        x=torch.randn(2, 6, 5, 4) * 3 - 1, weight=torch.rand(6) + 0.5, bias=torch.randn(6))
    run(s, "groupnorm_g1", lambda x, weight, bias: F.group_norm(x, 1, weight, bias, 1e-5),
        x=torch.randn(2, 4, 3, 3), weight=torch.rand(4) + 0.5, bias=torch.randn(4))
    run(s, "layernorm_last", lambda x, weight, bias: F.layer_norm(x, (7,), weight, bias, 1e-5),
        x=torch.randn(2, 5, 7) + 2, weight=torch.rand(7) + 0.5, bias=torch.randn(7))
    run(s, "layernorm_last2", lambda x, weight, bias: F.layer_norm(x, (4, 5), weight, bias, 1e-5),
        x=torch.randn(2, 3, 4, 5), weight=torch.rand(4, 5) + 0.5, bias=torch.randn(4, 5))
    # Without affine parameters (weight and bias None).
    rm, rv = torch.randn(2) * 0.5, torch.rand(2) + 0.5
    s["batchnorm_train_no_affine/running_mean"] = rm.clone()
    s["batchnorm_train_no_affine/running_var"] = rv.clone()
    run(s, "batchnorm_train_no_affine",
        lambda x: F.batch_norm(x, rm, rv, None, None, training=True, momentum=0.1, eps=1e-5),
        x=torch.randn(3, 2, 3, 4) - 0.5)
    s["batchnorm_train_no_affine/running_mean_after"] = rm
    s["batchnorm_train_no_affine/running_var_after"] = rv
    run(s, "groupnorm_g2_no_affine", lambda x: F.group_norm(x, 2, None, None, 1e-5), x=torch.randn(2, 4, 3, 3) * 2)
    run(s, "layernorm_no_affine", lambda x: F.layer_norm(x, (6,), None, None, 1e-5), x=torch.randn(3, 6) + 1)
    return s


def family_conv():
    s = {}
    conv_cases = [
        # name, x shape, (out, in/groups, kh, kw), kwargs, bias
        ("conv_k3_p1", [2, 3, 7, 8], (4, 3, 3, 3), dict(padding=1), True),
        ("conv_k3_s2_p1", [2, 3, 9, 8], (4, 3, 3, 3), dict(stride=2, padding=1), True),
        ("conv_k1", [2, 5, 6, 6], (3, 5, 1, 1), dict(), False),
        ("conv_k3_d2_p2", [1, 3, 9, 9], (2, 3, 3, 3), dict(padding=2, dilation=2), True),
        ("conv_k3x2_s2x1_p1x0", [1, 2, 8, 7], (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0)), True),
        ("conv_groups2", [2, 4, 6, 6], (6, 2, 3, 3), dict(padding=1, groups=2), True),
        ("conv_depthwise", [2, 4, 7, 7], (4, 1, 3, 3), dict(padding=1, groups=4), True),
        ("conv_depthwise_k7", [1, 3, 9, 9], (3, 1, 7, 7), dict(padding=3, groups=3), True),
    ]
    for name, xs, ws, kw, has_bias in conv_cases:
        t = dict(x=torch.randn(xs), weight=torch.randn(ws) * 0.3)
        if has_bias:
            t["bias"] = torch.randn(ws[0])
            run(s, name, lambda x, weight, bias: F.conv2d(x, weight, bias, **kw), **t)
        else:
            run(s, name, lambda x, weight: F.conv2d(x, weight, None, **kw), **t)
    deconv_cases = [
        # name, x shape, (in, out, kh, kw), kwargs
        ("deconv_k2_s2", [2, 4, 5, 6], (4, 3, 2, 2), dict(stride=2)),
        ("deconv_k3_s2_p1_op1", [1, 3, 4, 5], (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
        ("deconv_k3_s1_p1", [2, 2, 5, 5], (2, 3, 3, 3), dict(padding=1)),
        ("deconv_k4_s2_p1", [1, 3, 4, 4], (3, 2, 4, 4), dict(stride=2, padding=1)),
        ("deconv_groups2_s2", [1, 4, 3, 4], (4, 3, 3, 3), dict(stride=2, groups=2)),
        ("deconv_d2_p1", [1, 2, 4, 4], (2, 3, 3, 3), dict(padding=1, dilation=2)),
    ]
    for name, xs, ws, kw in deconv_cases:
        out_channels = ws[1] * kw.get("groups", 1)
        run(s, name, lambda x, weight, bias: F.conv_transpose2d(x, weight, bias, **kw),
            x=torch.randn(xs), weight=torch.randn(ws) * 0.3, bias=torch.randn(out_channels))
    run(s, "conv_groups2_s2", lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=1, groups=2),
        x=torch.randn(2, 4, 7, 6), weight=torch.randn(4, 2, 3, 3) * 0.3, bias=torch.randn(4))
    run(s, "conv_depthwise_s2_nobias", lambda x, weight: F.conv2d(x, weight, None, stride=2, padding=1, groups=3),
        x=torch.randn(1, 3, 8, 7), weight=torch.randn(3, 1, 3, 3) * 0.3)
    run(s, "conv_depthwise_mult2", lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1, groups=3),
        x=torch.randn(2, 3, 6, 5), weight=torch.randn(6, 1, 3, 3) * 0.3, bias=torch.randn(6))
    run(s, "conv_depthwise_d2", lambda x, weight, bias: F.conv2d(x, weight, bias, padding=2, dilation=2, groups=2),
        x=torch.randn(1, 2, 7, 8), weight=torch.randn(2, 1, 3, 3) * 0.3, bias=torch.randn(2))
    return s


def family_modules():
    """State dicts of freshly built torch.nn modules: keys, shapes, initial values.

    Keys go under "<module>/<key>"; the metadata entry "<module>" lists the
    keys in PyTorch's order, comma-separated, and "<module>/<key>" holds the
    tensor's shape, comma-separated (st.py stores 0-d tensors with shape [1]).
    """
    mods = {
        "conv2d": torch.nn.Conv2d(3, 8, 3, padding=1),
        "conv2d_nobias_groups": torch.nn.Conv2d(8, 4, (3, 5), groups=2, bias=False),
        "convtranspose2d": torch.nn.ConvTranspose2d(4, 6, 2, stride=2),
        "linear": torch.nn.Linear(5, 7),
        "batchnorm2d": torch.nn.BatchNorm2d(6),
        "groupnorm": torch.nn.GroupNorm(2, 6),
        "layernorm": torch.nn.LayerNorm([4, 5]),
    }
    s, meta = {}, {}
    for name, m in mods.items():
        sd = m.state_dict()
        meta[name] = ",".join(sd.keys())
        for k, v in sd.items():
            s[f"{name}/{k}"] = v.float()
            meta[f"{name}/{k}"] = ",".join(str(d) for d in v.shape)
    return s, meta


FAMILIES = {"pool": family_pool, "interp": family_interp, "norm": family_norm, "conv": family_conv,
            "modules": family_modules}


def main(argv):
    names = argv or sorted(FAMILIES)
    os.makedirs(OUT, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        path = os.path.join(OUT, f"layers_{name}.safetensors")
        out = FAMILIES[name]()
        tensors, meta = out if isinstance(out, tuple) else (out, {})
        save(path, tensors, metadata={"torch": torch.__version__, **meta})
        print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1:])
