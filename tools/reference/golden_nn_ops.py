"""Golden files for package nn's arithmetic, matrix, shape, reduction,
activation, dropout, loss and init ops.

Run with Debian's PyTorch 1.13 from the repository root:

    /usr/bin/python3 tools/reference/golden_nn_ops.py [family ...]

For every case it stores, under "<case>/", the inputs x0, x1, ..., the
outputs y0, y1, ... (y for a single output), a fixed random upstream gradient
gy (gy0, ... for several outputs) and the gradients PyTorch computes for the
inputs that require one, gx0, gx1, ... Labels and other constant inputs are
stored as c0, c1, ... The Go tests in nn/*_test.go rebuild each case by name.
Files go to nn/testdata/ops_<family>.safetensors.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st import save  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "nn", "testdata")


def rand(*shape, scale=1.0):
    return (torch.rand(*shape) * 2 - 1) * scale


def case(store, name, fn, inputs, consts=()):
    """Record fn(*inputs, *consts) with gradients for every input."""
    xs = [x.detach().clone().float().requires_grad_(True) for x in inputs]
    ys = fn(*xs, *consts)
    single = not isinstance(ys, (list, tuple))
    if single:
        ys = [ys]
    gys = [torch.randn_like(y) for y in ys]
    grads = torch.autograd.grad(ys, xs, gys, allow_unused=True)
    for i, x in enumerate(xs):
        store[f"{name}/x{i}"] = x.detach()
        g = grads[i]
        store[f"{name}/gx{i}"] = torch.zeros_like(x) if g is None else g
    for i, c in enumerate(consts):
        store[f"{name}/c{i}"] = c if torch.is_tensor(c) else torch.tensor(c)
    for j, (y, gy) in enumerate(zip(ys, gys)):
        suffix = "" if single else str(j)
        store[f"{name}/y{suffix}"] = y.detach()
        store[f"{name}/gy{suffix}"] = gy


def away_from_zero(*shape):
    """Values with 0.5 <= |v| <= 1.5 and random signs: safe divisors, and
    inputs whose dropped elements are told apart from kept ones by y != 0."""
    return (torch.rand(*shape) + 0.5) * torch.where(torch.rand(*shape) < 0.5, -1.0, 1.0)


def arith_ops():
    """Add, Sub, Mul and Div under NumPy broadcasting (PyTorch sums each
    input's gradient back to that input's shape), Scale, AddScalar and AddN."""
    s = {}
    pairs = [
        ([2, 3, 2], [2, 3, 2]),        # same shape
        ([2, 3, 2], [1]),              # scalar-like
        ([1], [2, 3, 2]),              # the same, swapped
        ([2, 2, 2, 3], [3]),           # trailing: [C] onto [N, H, W, C]
        ([3], [2, 2, 2, 3]),           # the same, swapped
        ([2, 3, 2, 2], [1, 3, 1, 1]),  # middle: per channel of NCHW
        ([1, 3, 1, 1], [2, 3, 2, 2]),  # the same, swapped
        ([2, 1, 3], [1, 2, 1]),        # both sides: [N, 1, W] with [1, H, 1]
        ([3, 1], [2, 3, 2]),           # rank difference and a 1 on the left
    ]
    ops = [("Add", torch.add), ("Sub", torch.sub), ("Mul", torch.mul), ("Div", torch.div)]
    for name, fn in ops:
        for sa, sb in pairs:
            a = rand(*sa, scale=2)
            b = away_from_zero(*sb) if name == "Div" else rand(*sb, scale=2)
            case(s, f"{name}/{fmt(sa)}_{fmt(sb)}", fn, [a, b])
    case(s, "Scale/s=-1.5", lambda a: a * -1.5, [rand(2, 3, 2, scale=2)])
    case(s, "AddScalar/s=0.75", lambda a: a + 0.75, [rand(2, 3, 2, scale=2)])
    case(s, "AddN/3", lambda a, b, c: a + b + c, [rand(2, 3, 2), rand(2, 3, 2), rand(2, 3, 2)])
    return s


def fmt(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def matmul_ops():
    """MatMul (torch.matmul) and Linear (F.linear, weight [out, in])."""
    s = {}
    for sa, sb in [([3, 4], [4, 5]),
                   ([3, 1], [1, 4]),               # k = 1: an outer product
                   ([2, 3, 4], [2, 4, 5]),         # batched
                   ([2, 2, 3, 4], [2, 2, 4, 3]),   # two batch dimensions
                   ([2, 3, 4], [4, 5]),            # b broadcast over the batch
                   ([2, 2, 3, 4], [4, 2])]:
        case(s, f"MatMul/{fmt(sa)}_{fmt(sb)}", torch.matmul, [rand(*sa), rand(*sb)])
    for sx, out in [([4], 5), ([3, 4], 5), ([2, 3, 4], 5), ([2, 1, 3, 6], 2)]:
        x, w, b = rand(*sx), rand(out, sx[-1]), rand(out)
        case(s, f"Linear/bias/{fmt(sx)}_{out}", F.linear, [x, w, b])
        case(s, f"Linear/no_bias/{fmt(sx)}_{out}", F.linear, [x, w])
    return s


def drop_path(x, p, training):
    """Stochastic depth per sample, as timm's drop_path(scale_by_keep=True)
    and torchvision.ops.stochastic_depth(mode="row"): one Bernoulli(1-p) draw
    per sample along the first axis, kept samples scaled by 1/(1-p)."""
    if not training or p == 0:
        return x
    keep = 1 - p
    mask = x.new_empty([x.shape[0]] + [1] * (x.dim() - 1)).bernoulli_(keep)
    if keep > 0:
        mask.div_(keep)
    return x * mask


def dropout_ops():
    """Dropout and DropPath with PyTorch's masks. dp draws its own masks, so
    the Go test compares only the elements both keep and checks that the
    others are zero; eval mode, p = 0 and p = 1 are compared in full."""
    s = {}
    for p in (0.5, 0.2, 0.0, 1.0):
        case(s, f"Dropout/p={p}", lambda a, pp=p: F.dropout(a, pp, training=True), [away_from_zero(6, 8)])
    case(s, "Dropout/eval", lambda a: F.dropout(a, 0.5, training=False), [away_from_zero(4, 5)])
    for p in (0.5, 0.25, 0.0, 1.0):
        case(s, f"DropPath/p={p}", lambda a, pp=p: drop_path(a, pp, True), [away_from_zero(16, 1, 2, 2)])
    case(s, "DropPath/eval", lambda a: drop_path(a, 0.5, False), [away_from_zero(4, 2, 3)])
    return s


def shape_ops():
    s = {}
    x = rand(2, 3, 4)
    case(s, "Reshape/[6,4]", lambda a: a.reshape(6, 4), [x])
    case(s, "Reshape/[-1,2]", lambda a: a.reshape(-1, 2), [x])
    case(s, "Flatten/1..-1", lambda a: torch.flatten(a, 1, -1), [rand(2, 3, 2, 2)])
    case(s, "Flatten/1..2", lambda a: torch.flatten(a, 1, 2), [rand(2, 3, 2, 2)])
    case(s, "Permute/0,2,3,1", lambda a: a.permute(0, 2, 3, 1), [rand(2, 3, 2, 4)])
    case(s, "Permute/2,0,1", lambda a: a.permute(2, 0, 1), [x])
    case(s, "Transpose/1,2", lambda a: a.transpose(1, 2), [x])
    case(s, "Transpose/-1,0", lambda a: a.transpose(-1, 0), [x])
    case(s, "Slice/axis=1/1:3", lambda a: a[:, 1:3], [x])
    case(s, "Slice/axis=2/0:4:2", lambda a: a[:, :, 0:4:2], [x])
    case(s, "Slice/axis=-1/1::2", lambda a: a[..., 1::2], [rand(2, 3, 5)])
    case(s, "Slice/axis=0/-1:", lambda a: a[-1:], [x])
    case(s, "Slice/axis=2/3:100:3", lambda a: a[:, :, 3:100:3], [rand(2, 2, 9)])
    case(s, "Concat/axis=0", lambda a, b: torch.cat([a, b], 0), [rand(2, 3), rand(1, 3)])
    case(s, "Concat/axis=1", lambda a, b, c: torch.cat([a, b, c], 1),
         [rand(2, 1, 2), rand(2, 3, 2), rand(2, 2, 2)])
    case(s, "Concat/axis=-1", lambda a, b: torch.cat([a, b], -1), [rand(2, 3, 2), rand(2, 3, 1)])
    case(s, "Split/axis=1/[1,2,1]", lambda a: torch.split(a, [1, 2, 1], 1), [rand(2, 4, 3)])
    case(s, "Split/axis=-1/[2,3]", lambda a: torch.split(a, [2, 3], -1), [rand(2, 5)])
    case(s, "Pad/[1,2]", lambda a: F.pad(a, [1, 2]), [rand(2, 3)])
    case(s, "Pad/[1,0,2,1]/value=1.5", lambda a: F.pad(a, [1, 0, 2, 1], value=1.5), [rand(1, 2, 3, 3)])
    case(s, "Pad/[0,1,1,1,1,0]", lambda a: F.pad(a, [0, 1, 1, 1, 1, 0]), [rand(2, 2, 2, 2)])
    case(s, "Pad/[-1,2,1,-1]", lambda a: F.pad(a, [-1, 2, 1, -1]), [rand(2, 3, 4)])
    return s


def reduce_ops():
    s = {}
    x = rand(2, 3, 2, 3)
    case(s, "Sum/all", lambda a: a.sum(), [x])
    case(s, "Sum/axes=[1]", lambda a: a.sum(1), [x])
    case(s, "Sum/axes=[1]/keepdim", lambda a: a.sum(1, keepdim=True), [x])
    case(s, "Sum/axes=[0,2]", lambda a: a.sum([0, 2]), [x])
    case(s, "Sum/axes=[-1,-2]/keepdim", lambda a: a.sum([-1, -2], keepdim=True), [x])
    case(s, "Mean/all", lambda a: a.mean(), [x])
    case(s, "Mean/axes=[2,3]", lambda a: a.mean([2, 3]), [x])
    case(s, "Mean/axes=[0,3]/keepdim", lambda a: a.mean([0, 3], keepdim=True), [x])
    case(s, "Max/axis=1", lambda a: a.max(1).values, [x])
    case(s, "Max/axis=-1/keepdim", lambda a: a.max(-1, keepdim=True).values, [x])
    return s


def activation_ops():
    s = {}
    x = rand(2, 3, 4, scale=3)
    for name, fn in [("ReLU", F.relu), ("GELU", F.gelu), ("SiLU", F.silu),
                     ("Sigmoid", torch.sigmoid), ("Tanh", torch.tanh)]:
        case(s, name, fn, [x])
    case(s, "Sigmoid/large", torch.sigmoid, [rand(4, 5, scale=60)])
    for axis in (0, 1, -1):
        case(s, f"Softmax/axis={axis}", lambda a, ax=axis: F.softmax(a, ax), [x])
        case(s, f"LogSoftmax/axis={axis}", lambda a, ax=axis: F.log_softmax(a, ax), [x])
    case(s, "Softmax/axis=1/large", lambda a: F.softmax(a, 1), [rand(3, 6, scale=200)])
    case(s, "LogSoftmax/axis=1/large", lambda a: F.log_softmax(a, 1), [rand(3, 6, scale=200)])
    return s


def boxes(n, jitter):
    """n random x1y1x2y2 boxes and targets near them (some overlapping a lot)."""
    xy = torch.rand(n, 2) * 10
    wh = torch.rand(n, 2) * 8 + 1
    t = torch.cat([xy, xy + wh], 1)
    p = t + (torch.rand(n, 4) * 2 - 1) * jitter
    p[:, 2:] = torch.maximum(p[:, 2:], p[:, :2] + 0.5)
    return p, t


# mmdet 3.x loss formulas (mmdet/models/losses/iou_loss.py with
# bbox_overlaps(mode, is_aligned=True)), written out for PyTorch tensors.
def bbox_overlaps_aligned(b1, b2, mode, eps):
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    wh = (torch.min(b1[:, 2:], b2[:, 2:]) - torch.max(b1[:, :2], b2[:, :2])).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    union = torch.max(area1 + area2 - overlap, union_eps(eps, area1))
    ious = overlap / union
    if mode == "iou":
        return ious
    ewh = (torch.max(b1[:, 2:], b2[:, 2:]) - torch.min(b1[:, :2], b2[:, :2])).clamp(min=0)
    enclose = torch.max(ewh[:, 0] * ewh[:, 1], union_eps(eps, area1))
    return ious - (enclose - union) / enclose


def union_eps(eps, like):
    return like.new_tensor([eps])


def iou_loss(p, t, mode, eps=1e-6):
    ious = bbox_overlaps_aligned(p, t, "iou", 1e-6).clamp(min=eps)
    if mode == "linear":
        return 1 - ious
    if mode == "square":
        return 1 - ious ** 2
    return -ious.log()


def giou_loss(p, t, eps=1e-6):
    return 1 - bbox_overlaps_aligned(p, t, "giou", eps)


def ciou_loss(p, t, eps=1e-6):
    wh = (torch.min(p[:, 2:], t[:, 2:]) - torch.max(p[:, :2], t[:, :2])).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    ap = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    ag = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    ious = overlap / (ap + ag - overlap + eps)
    ewh = (torch.max(p[:, 2:], t[:, 2:]) - torch.min(p[:, :2], t[:, :2])).clamp(min=0)
    c2 = ewh[:, 0] ** 2 + ewh[:, 1] ** 2 + eps
    w1, h1 = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1] + eps
    w2, h2 = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1] + eps
    rho2 = ((t[:, 0] + t[:, 2]) - (p[:, 0] + p[:, 2])) ** 2 / 4 + \
        ((t[:, 1] + t[:, 3]) - (p[:, 1] + p[:, 3])) ** 2 / 4
    v = (4 / math.pi ** 2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = (ious > 0.5).float() * v / (1 - ious + v)
    cious = ious - (rho2 / c2 + alpha * v)
    return 1 - cious.clamp(min=-1.0, max=1.0)


def reduce(loss, reduction):
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def loss_ops():
    s = {}
    n, c = 6, 4
    logits = rand(n, c, scale=3)
    labels = torch.tensor([0, 3, 1, -100, 2, 3])
    w = torch.tensor([0.5, 1.0, 2.0, 1.5])
    for red in ("mean", "sum", "none"):
        case(s, f"CrossEntropy/NC/weight/smooth=0.1/{red}",
             lambda a, y, r=red: F.cross_entropy(a, y, weight=w, label_smoothing=0.1, reduction=r),
             [logits], [labels])
    case(s, "CrossEntropy/NC/mean", lambda a, y: F.cross_entropy(a, y), [logits], [labels])
    case(s, "CrossEntropy/NC/weight/mean", lambda a, y: F.cross_entropy(a, y, weight=w), [logits], [labels])
    case(s, "CrossEntropy/NC/smooth=0.2/mean",
         lambda a, y: F.cross_entropy(a, y, label_smoothing=0.2), [logits], [labels])
    seg_logits = rand(2, 3, 3, 4, scale=3)
    seg = torch.randint(0, 3, (2, 3, 4))
    seg[0, 1, :3] = 255
    seg[1, 2, 2] = 255
    case(s, "CrossEntropy/NCHW/ignore=255/mean",
         lambda a, y: F.cross_entropy(a, y, ignore_index=255), [seg_logits], [seg])
    case(s, "CrossEntropy/NCHW/ignore=255/weight/smooth=0.1/mean",
         lambda a, y: F.cross_entropy(a, y, ignore_index=255, weight=w[:3], label_smoothing=0.1),
         [seg_logits], [seg])

    x = rand(3, 4, scale=4)
    t = torch.rand(3, 4)
    bw = torch.rand(4) + 0.5
    pw = torch.rand(4) * 3 + 0.2
    for red in ("mean", "none"):
        case(s, f"BCEWithLogits/{red}",
             lambda a, b, r=red: F.binary_cross_entropy_with_logits(a, b, reduction=r), [x, t])
    case(s, "BCEWithLogits/weight/pos_weight/mean",
         lambda a, b, ww, pp: F.binary_cross_entropy_with_logits(a, b, weight=ww, pos_weight=pp),
         [x, t], [bw, pw])
    case(s, "BCEWithLogits/pos_weight/sum",
         lambda a, b, pp: F.binary_cross_entropy_with_logits(a, b, pos_weight=pp, reduction="sum"),
         [x, t], [pw])

    y = rand(3, 4, scale=2)
    yt = rand(3, 4, scale=2)
    for red in ("mean", "sum", "none"):
        case(s, f"L1Loss/{red}", lambda a, b, r=red: F.l1_loss(a, b, reduction=r), [y, yt])
    for beta in (1.0, 0.5):
        case(s, f"SmoothL1Loss/beta={beta}/mean",
             lambda a, b, bb=beta: F.smooth_l1_loss(a, b, beta=bb), [y, yt])
    case(s, "SmoothL1Loss/beta=1.0/none",
         lambda a, b: F.smooth_l1_loss(a, b, beta=1.0, reduction="none"), [y, yt])

    p, tb = boxes(8, 2.0)
    p[7] = torch.tensor([30.0, 30.0, 32.0, 33.0])  # disjoint from its target
    for mode in ("log", "linear", "square"):
        case(s, f"IoULoss/{mode}/none", lambda a, b, m=mode: iou_loss(a, b, m), [p, tb])
    case(s, "IoULoss/log/mean", lambda a, b: iou_loss(a, b, "log").mean(), [p, tb])
    case(s, "GIoULoss/none", lambda a, b: giou_loss(a, b), [p, tb])
    case(s, "CIoULoss/none", lambda a, b: ciou_loss(a, b), [p, tb])
    case(s, "CIoULoss/sum", lambda a, b: ciou_loss(a, b).sum(), [p, tb])
    return s


def init_params():
    """Fans, gains and the resulting bounds/stds of torch.nn.init."""
    s = {}
    init = torch.nn.init
    shapes = {"linear": (7, 5), "conv": (8, 3, 3, 3), "conv_t": (4, 6, 2, 2), "conv1d": (5, 2, 7)}
    for name, shape in shapes.items():
        w = torch.empty(*shape)
        fi, fo = init._calculate_fan_in_and_fan_out(w)
        s[f"fans/{name}/shape"] = torch.tensor(shape, dtype=torch.int64)
        s[f"fans/{name}/in_out"] = torch.tensor([fi, fo], dtype=torch.int64)
        kb = init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3.0 / fi)
        s[f"default/{name}/weight_bound"] = torch.tensor([kb], dtype=torch.float64)
        s[f"default/{name}/bias_bound"] = torch.tensor([1 / math.sqrt(fi)], dtype=torch.float64)
        s[f"kaiming_normal/fan_out/relu/{name}/std"] = torch.tensor(
            [init.calculate_gain("relu") / math.sqrt(fo)], dtype=torch.float64)
        s[f"xavier_uniform/gain=2/{name}/bound"] = torch.tensor(
            [2 * math.sqrt(6.0 / (fi + fo))], dtype=torch.float64)
    gains = [("linear", 0), ("sigmoid", 0), ("tanh", 0), ("relu", 0), ("leaky_relu", 0),
             ("leaky_relu", 0.2), ("selu", 0), ("conv2d", 0)]
    for nl, a in gains:
        s[f"gain/{nl}/a={a}"] = torch.tensor([init.calculate_gain(nl, a)], dtype=torch.float64)
    return s


FAMILIES = {"shape": shape_ops, "reduce": reduce_ops, "activation": activation_ops,
            "loss": loss_ops, "init": init_params, "arith": arith_ops, "matmul": matmul_ops,
            "dropout": dropout_ops}


def main(argv):
    os.makedirs(OUT, exist_ok=True)
    for fam in argv or FAMILIES:
        fn = FAMILIES[fam]
        torch.manual_seed(0)
        path = os.path.join(OUT, f"ops_{fam}.safetensors")
        save(path, fn(), {"generator": "tools/reference/golden_nn_ops.py", "torch": torch.__version__})
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
