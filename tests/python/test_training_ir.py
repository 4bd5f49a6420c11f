"""Export's training IR lowered in place (ingot._training_ir) instead of retraced.

Each model is compiled twice, through the in-place lowering and with INGOT_RETRACE=1 (the
run_decompositions retrace); both must match eager PyTorch. Graphs the lowering must decline
(an observed in-place write, an input mutation, an op ingot takes only decomposed) fall back to
the retrace, and the build report says why.
"""

import pytest
import torch
import torch.nn.functional as F

import ingot
from ingot import _training_ir
from conftest import assert_close


def build(model, inputs, monkeypatch, retrace=False):
    monkeypatch.setenv("INGOT_RETRACE", "1" if retrace else "0")
    return ingot.compile(model.eval(), inputs=list(inputs), min_block_size=1)


def checked(model, x, monkeypatch):
    """Compiles `model` for `x` and checks it against eager on copies of x (some models write
    to their intermediates in place); returns the compiled module."""
    with torch.inference_mode():
        expected = model(x.clone())
    compiled = build(model, [x], monkeypatch)
    with torch.inference_mode():
        assert_close(compiled(x.clone()), expected)
    return compiled


def both_paths(model, inputs, monkeypatch):
    """Compiles `model` both ways; checks both against eager and returns the in-place build."""
    with torch.inference_mode():
        expected = model.eval()(*inputs)
    fast = build(model, inputs, monkeypatch)
    slow = build(model, inputs, monkeypatch, retrace=True)
    assert slow.build_report.retrace == "INGOT_RETRACE=1"
    with torch.inference_mode():
        assert_close(fast(*inputs), expected)
        assert_close(slow(*inputs), expected)
    return fast


class Bottleneck(torch.nn.Module):
    """ResNet's block: batch norm, in-place ReLU, the residual added in place."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)
        self.relu = torch.nn.ReLU(inplace=True)
        for bn in (self.bn1, self.bn2):
            torch.nn.init.uniform_(bn.weight, 0.5, 1.5)
            torch.nn.init.uniform_(bn.bias, -0.2, 0.2)
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return self.relu(out)


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.block = Bottleneck(16)
        self.act = torch.nn.SiLU(inplace=True)
        self.drop = torch.nn.Dropout(0.2)
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.block(self.pool(self.act(self.stem(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(self.drop(x))


def test_cnn_lowered_in_place(monkeypatch):
    model = SmallCNN()
    x = torch.randn(2, 3, 32, 32)
    compiled = both_paths(model, [x], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace
    assert "retraced" not in str(compiled.build_report)


def test_lowered_graph_has_no_in_place_or_composite_ops():
    ep = torch.export.export(SmallCNN().eval(), (torch.randn(1, 3, 32, 32),))
    assert _training_ir.lower(ep) is None
    ops = _training_ir.exported_ops(ep)
    for name in ("relu_", "add_", "silu_", "conv2d", "batch_norm.default", "dropout", "adaptive_avg_pool2d",
                 "flatten"):
        assert not any(f"aten.{name}" in op for op in ops), (name, ops)
    assert "aten.convolution.default" in ops and "aten._native_batch_norm_legit_no_training.default" in ops
    assert "aten.mean.dim" in ops  # adaptive pooling to 1x1, as run_decompositions gives it


class Block(torch.nn.Module):
    """A pre-norm transformer block written out: layer norm, attention, transpose, reshape."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, 4 * d)
        self.fc2 = torch.nn.Linear(4 * d, d)
        self.drop = torch.nn.Dropout(0.1)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, d)
        x = x + self.drop(self.out(a))
        h = self.fc2(F.gelu(self.fc1(self.ln2(x))).contiguous())
        h = h * F.softmax(h, dim=-1)
        return (x + self.drop(h)).unflatten(-1, (4, d // 4))


def test_transformer_block_lowered_in_place(monkeypatch):
    compiled = both_paths(Block(), [torch.randn(2, 10, 32)], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace


class ObservedWrite(torch.nn.Module):
    """relu_ writes through a view that is read afterwards: the write must stay visible."""

    def forward(self, x):
        y = x * 2
        v = y.view(-1)
        y.relu_()
        return v + 1


class ReadAfterWrite(torch.nn.Module):
    """The tensor written in place is read again under its old node after the write."""

    def forward(self, x):
        y = x * 2
        z = y.add_(1)
        return z.sigmoid_() + y


class WriteThroughNoOpDropout(torch.nn.Module):
    """relu_ through an in-place dropout's result on a view of y, and y read afterwards: the
    write reaches y, so it must stay a write."""

    def forward(self, x):
        y = x * 2
        d = F.dropout(y.view(-1), 0.5, training=False, inplace=True)
        F.relu(d, inplace=True)
        return y + 1


class InputWrite(torch.nn.Module):
    def forward(self, x):
        x.mul_(2)
        return x + 1


class LogSumExp(torch.nn.Module):
    """logsumexp has no converter of its own; ingot takes it decomposed."""

    def forward(self, x):
        return torch.logsumexp(x, dim=1) + 1


@pytest.mark.parametrize("model,why", [
    (ObservedWrite(), "reads afterwards"),
    (LogSumExp(), "logsumexp"),
    (WriteThroughNoOpDropout(), "a view"),
])
def test_declined_graphs_are_retraced(model, why, monkeypatch):
    compiled = checked(model, torch.randn(3, 5), monkeypatch)
    assert compiled.build_report.retrace and why in compiled.build_report.retrace, compiled.build_report.retrace
    assert "retraced" in str(compiled.build_report)


def test_write_read_later_under_the_new_node_is_exact(monkeypatch):
    # Export threads later reads of y through the in-place nodes, so nothing observes the
    # write and the graph is lowered; either way the result must be eager's.
    checked(ReadAfterWrite(), torch.randn(3, 5), monkeypatch)


def test_input_mutation_is_never_lowered():
    ep = torch.export.export(InputWrite(), (torch.randn(3, 5),))
    why = _training_ir.lower(ep)
    assert why is not None and "model input" in why
    assert "aten.mul_.Tensor" in _training_ir.exported_ops(ep)  # untouched


class HalfAccumulate(torch.nn.Module):
    """An in-place add keeps its first argument's dtype where add would promote to float32."""

    def __init__(self):
        super().__init__()
        self.register_buffer("offset", torch.randn(5))

    def forward(self, x):
        y = x * 2
        y.add_(self.offset)
        return y


def test_in_place_keeps_its_dtype(monkeypatch):
    model = HalfAccumulate()
    x = torch.randn(3, 5).half()
    with torch.inference_mode():
        expected = model(x)
    compiled = build(model, [x], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace
    with torch.inference_mode():
        actual = compiled(x)
    assert actual.dtype == torch.float16
    assert_close(actual, expected)


class PadAndDropInPlace(torch.nn.Module):
    """F.pad (aten.pad) and an in-place dropout on a view: dropout outside training writes nothing."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.head = torch.nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        x = self.conv(F.pad(x, (1, 1, 1, 1), value=0.5))
        x = F.dropout(torch.flatten(x, 1), 0.3, training=False, inplace=True)
        return self.head(x)


def test_pad_and_in_place_dropout_lowered_in_place(monkeypatch):
    compiled = both_paths(PadAndDropInPlace(), [torch.randn(2, 3, 8, 8)], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace


class StackMinArange(torch.nn.Module):
    """torch.stack, torch.min(a, b), arange(start, end) and a tensor made in forward."""

    def forward(self, x):
        pos = torch.arange(2, 2 + x.shape[-1], dtype=x.dtype)
        scale = torch.tensor([0.5, 2.0, 1.5])
        y = torch.stack([x, x * pos, x - 1], dim=1) * scale.view(1, 3, 1)
        return torch.min(y, y.flip(0))


def test_stack_min_arange_and_constants_lowered_in_place(monkeypatch):
    compiled = both_paths(StackMinArange(), [torch.randn(4, 6)], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace


def test_a_rewrite_failing_midway_exports_again(monkeypatch):
    # The batch-norm rewrites run the new op on fake tensors; make that fail after the graph has
    # started to change: the build must export again, retrace, and still be exact.
    def broken(node, fake_mode):
        raise RuntimeError("fake run failed")

    monkeypatch.setattr(_training_ir, "_fake_run", broken)
    model = SmallCNN()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        expected = model.eval()(x)
    compiled = build(model, [x], monkeypatch)
    why = compiled.build_report.retrace
    assert why and why.startswith("lowering in place failed") and "fake run failed" in why, why
    with torch.inference_mode():
        assert_close(compiled(x), expected)


class MaskedScores(torch.nn.Module):
    """masked_fill with a scalar, where with a scalar on either side, clamp_min / clamp_max,
    expand_as."""

    def forward(self, x, mask):
        s = x.masked_fill(mask, -1e4)
        s = torch.where(mask, s, 0.5) + torch.where(mask, 2.0, x)
        return torch.clamp_min(s, -3.0) + torch.clamp_max(x, 0.25) + x[:1].expand_as(x)


def test_scalar_where_masked_fill_and_clamps_lowered_in_place(monkeypatch):
    x = torch.randn(4, 6)
    mask = torch.rand(4, 6) > 0.5
    compiled = both_paths(MaskedScores(), [x, mask], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace


class RollAddcmulDiff(torch.nn.Module):
    """Swin's shifted windows (roll on two dims, and back), a flattened roll, addcmul with and
    without a value, diff with n=2 and a prepend."""

    def forward(self, x, y):
        shifted = torch.roll(x, shifts=(-3, 2), dims=(1, 2)) * 2
        back = torch.roll(shifted, shifts=(3, -2), dims=(1, 2))
        flat = torch.roll(x, 5)
        m = torch.addcmul(x, y, flat, value=0.5) + torch.addcmul(back, x, y)
        d = torch.diff(m, n=2, dim=1, prepend=y[:, :1])
        return m, d, torch.roll(y, 0, 1) + 1


def test_roll_addcmul_and_diff_lowered_in_place(monkeypatch):
    x, y = torch.randn(2, 6, 7, 3), torch.randn(2, 6, 7, 3)
    compiled = both_paths(RollAddcmulDiff(), [x, y], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace
    ep = torch.export.export(RollAddcmulDiff().eval(), (x, y))
    assert _training_ir.lower(ep) is None
    ops = _training_ir.exported_ops(ep)
    assert not any(name in op for op in ops for name in ("roll", "addcmul", "diff")), ops


class WindowMask(torch.nn.Module):
    """Writes into slices of tensors made in forward: Swin's shifted-window mask (fill_ a window
    at a time), Swin-V2's qkv bias zeroed in part, `r[1] += 1` (select, add_, copy_ back) and a
    write through a write's result."""

    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.randn(9))

    def forward(self, x):
        mask = x.new_zeros((6, 6))
        count = 0
        for h in ((0, -3), (-3, -1), (-1, None)):
            for w in ((0, -3), (-3, None)):
                mask[h[0]:h[1], w[0]:w[1]] = count
                count += 1
        bias = self.bias.clone()
        bias[3:6].zero_()
        r = x.new_ones((4, 6))
        r[1] += x[0, :6]
        r[2:, 1:].mul_(2).add_(0.5)
        return x + mask.view(1, 36).sum(0), bias * 2, r + 1


class StaleViewRead(torch.nn.Module):
    """A view read after a write to its tensor: declined (the read must see the write)."""

    def forward(self, x):
        y = x * 2
        s = y[:, :2]
        t = s + 1
        y[:, 1:].zero_()
        return t + s


def test_writes_into_slices_lowered_in_place(monkeypatch):
    x = torch.randn(3, 36)
    compiled = both_paths(WindowMask(), [x], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace
    ep = torch.export.export(WindowMask().eval(), (x,))
    assert _training_ir.lower(ep) is None
    ops = _training_ir.exported_ops(ep)
    assert not any(op.split(".")[-2].endswith("_") for op in ops if op.startswith("aten.")), ops
    assert "aten.slice_scatter.default" in ops and "aten.select_scatter.default" in ops, ops


def test_stale_view_read_is_retraced(monkeypatch):
    compiled = checked(StaleViewRead(), torch.randn(3, 5), monkeypatch)
    why = compiled.build_report.retrace
    assert why and "after a write to" in why, why


class Einsums(torch.nn.Module):
    """MaxViT's attention einsums and swapaxes, an einsum with a label only one operand has
    (summed) and an output in another order, swapdims."""

    def forward(self, q, k, v, w):
        q = q.permute(0, 2, 1, 3, 4)  # not contiguous, in the order the einsum wants: still copied
        s = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k).softmax(-1)
        o = torch.einsum("B G H I J, B G H J D -> B G H I D", s, v)
        return o.swapaxes(1, -1), torch.einsum("gid,ejd->jgi", w, w[:, :3]).swapdims(0, 2)


def test_einsum_lowered_in_place(monkeypatch):
    q, k, v = torch.randn(2, 4, 3, 5, 8), torch.randn(2, 3, 4, 6, 8), torch.randn(2, 3, 4, 6, 8)
    w = torch.randn(2, 4, 8)
    compiled = both_paths(Einsums(), [q, k, v, w], monkeypatch)
    assert compiled.build_report.retrace is None, compiled.build_report.retrace
