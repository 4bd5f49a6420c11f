"""One row per converter family member: compile the op alone (require_full_compilation, so it
must run in an engine) and compare with eager PyTorch."""

import pytest
import torch
import torch.nn.functional as F

from conftest import assert_close, run_compiled


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def r(*shape, dtype=torch.float32, lo=-2.0, hi=2.0):
    return (torch.rand(*shape) * (hi - lo) + lo).to(dtype)


def ri(*shape, lo=-5, hi=6, dtype=torch.int64):
    return torch.randint(lo, hi, shape, dtype=dtype)


def pos(*shape, dtype=torch.float32):
    return r(*shape, dtype=dtype, lo=0.1, hi=3.0)


def _assigned(x, y):
    x = x.clone()
    x[:, 1:3] = y
    return x * 1


def _selected(x, y):
    x = x.clone()
    x[:, -2] = y
    return x + 0


def _window_mask(x):
    """Swin's shifted-window mask: in-place slice assignments on a fresh tensor."""
    m = torch.zeros(x.shape[-2], x.shape[-1], device=x.device)
    cnt = 0
    for h in (slice(0, -3), slice(-3, -1), slice(-1, None)):
        for w in (slice(0, -3), slice(-3, -1), slice(-1, None)):
            m[h, w] = cnt
            cnt += 1
    return m


# (id, function, input factory)
ROWS = [
    # --- unary
    ("relu", torch.relu, lambda: [r(2, 3, 4)]),
    ("sigmoid", torch.sigmoid, lambda: [r(2, 3, 4)]),
    ("tanh", torch.tanh, lambda: [r(2, 3, 4)]),
    ("gelu", F.gelu, lambda: [r(2, 3, 4)]),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda: [r(2, 3, 4)]),
    ("silu", F.silu, lambda: [r(2, 3, 4)]),
    ("mish", F.mish, lambda: [r(2, 3, 4)]),
    ("hardsigmoid", F.hardsigmoid, lambda: [r(2, 3, 4, lo=-4, hi=4)]),
    ("hardswish", F.hardswish, lambda: [r(2, 3, 4, lo=-4, hi=4)]),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.7), lambda: [r(2, 3, 4)]),
    ("relu6", F.relu6, lambda: [r(2, 3, 4, lo=-8, hi=8)]),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda: [r(2, 3, 4)]),
    ("elu", lambda x: F.elu(x, 0.7), lambda: [r(2, 3, 4)]),
    ("selu", F.selu, lambda: [r(2, 3, 4)]),
    ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), lambda: [r(2, 3, 4)]),
    ("exp", torch.exp, lambda: [r(2, 3, 4)]),
    ("log", torch.log, lambda: [pos(2, 3, 4)]),
    ("log1p", torch.log1p, lambda: [pos(2, 3, 4)]),
    ("sqrt", torch.sqrt, lambda: [pos(2, 3, 4)]),
    ("rsqrt", torch.rsqrt, lambda: [pos(2, 3, 4)]),
    ("reciprocal", torch.reciprocal, lambda: [pos(2, 3, 4)]),
    ("erf", torch.erf, lambda: [r(2, 3, 4)]),
    ("sin_cos", lambda x: torch.sin(x) + torch.cos(x), lambda: [r(2, 3, 4)]),
    ("neg_abs", lambda x: torch.abs(-x), lambda: [r(2, 3, 4)]),
    ("floor_ceil_round", lambda x: torch.floor(x) + torch.ceil(x) * 2 + torch.round(x) * 3, lambda: [r(4, 5, lo=-3, hi=3)]),
    ("sign", torch.sign, lambda: [r(2, 3, 4)]),
    ("clamp", lambda x: torch.clamp(x, -0.5, 0.5), lambda: [r(2, 3, 4)]),
    ("clamp_min", lambda x: torch.clamp(x, min=0.1), lambda: [r(2, 3, 4)]),
    ("pow_scalar", lambda x: x ** 2.5, lambda: [pos(2, 3, 4)]),
    ("square", torch.square, lambda: [r(2, 3, 4)]),
    ("int_abs_neg", lambda x: -torch.abs(x), lambda: [ri(3, 4)]),
    # --- binary, with broadcasting and scalars
    ("add", torch.add, lambda: [r(2, 3, 4), r(3, 4)]),
    ("add_alpha", lambda a, b: torch.add(a, b, alpha=2.5), lambda: [r(2, 3, 4), r(4)]),
    ("add_scalar", lambda x: x + 3.5, lambda: [r(2, 3)]),
    ("sub", torch.sub, lambda: [r(2, 1, 4), r(3, 1)]),
    ("rsub", lambda x: 1.0 - x, lambda: [r(2, 3)]),
    ("mul", torch.mul, lambda: [r(2, 3, 4), r(2, 1, 4)]),
    ("mul_scalar", lambda x: x * 0.25, lambda: [r(2, 3)]),
    ("div", torch.div, lambda: [r(2, 3), pos(2, 3)]),
    ("div_scalar", lambda x: x / 3.0, lambda: [r(2, 3)]),
    ("div_floor", lambda a, b: torch.div(a, b, rounding_mode="floor"), lambda: [r(3, 4, lo=-9, hi=9), pos(3, 4)]),
    ("div_trunc", lambda a, b: torch.div(a, b, rounding_mode="trunc"), lambda: [r(3, 4, lo=-9, hi=9), pos(3, 4)]),
    ("int_div", lambda a, b: a / b, lambda: [ri(3, 4), ri(3, 4, lo=1, hi=5)]),
    ("pow", torch.pow, lambda: [pos(2, 3), r(2, 3)]),
    ("maximum_minimum", lambda a, b: torch.maximum(a, b) - torch.minimum(a, b), lambda: [r(2, 3), r(3)]),
    ("remainder", torch.remainder, lambda: [r(3, 4, lo=-9, hi=9), pos(3, 4)]),
    ("int_floor_divide", torch.floor_divide, lambda: [ri(3, 4, lo=-20, hi=20), ri(3, 4, lo=1, hi=6)]),
    ("int_add_mul", lambda a, b: a * b + a, lambda: [ri(3, 4), ri(4)]),
    ("mixed_int_float", lambda a, b: a + b, lambda: [ri(3, 4), r(3, 4)]),
    ("int_times_float_scalar", lambda a: a * 0.5, lambda: [ri(3, 4)]),
    ("half_plus_float0d", lambda a, b: a + b, lambda: [r(3, 4, dtype=torch.float16), torch.tensor(1.5)]),
    # --- comparisons, logical, where
    ("eq_ne", lambda a, b: (a == b) | (a != 0.5), lambda: [torch.tensor([[0.5, 1.0], [2.0, 0.5]]), torch.tensor([[0.5, 2.0], [2.0, 1.0]])]),
    ("lt_le_gt_ge", lambda a, b: (a < b) ^ (a <= 0.0) | (a > b) & (b >= 0.5), lambda: [r(3, 4), r(4)]),
    ("logical", lambda a, b: torch.logical_not(torch.logical_and(a > 0, b > 0)), lambda: [r(3, 4), r(3, 4)]),
    ("where", lambda c, a, b: torch.where(c > 0, a, b), lambda: [r(3, 1), r(3, 4), r(4)]),
    ("where_scalar", lambda c, a: torch.where(c > 0, a, 0.0), lambda: [r(3, 4), r(3, 4)]),
    ("isnan_isinf", lambda a: torch.isnan(a) | torch.isinf(a), lambda: [torch.tensor([0.0, float("nan"), float("inf"), -1.0])]),
    # --- convolution
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), lambda: [r(2, 3, 9, 9), r(4, 3, 3, 3), r(4)]),
    ("conv2d_nobias_dilation", lambda x, w: F.conv2d(x, w, None, padding=2, dilation=2), lambda: [r(1, 3, 8, 8), r(5, 3, 3, 3)]),
    ("conv2d_groups", lambda x, w: F.conv2d(x, w, groups=2, padding=(1, 0)), lambda: [r(2, 4, 7, 6), r(6, 2, 3, 3)]),
    ("conv2d_depthwise", lambda x, w: F.conv2d(x, w, groups=4, stride=(2, 1)), lambda: [r(1, 4, 8, 8), r(4, 1, 3, 3)]),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), lambda: [r(2, 3, 10), r(4, 3, 3), r(4)]),
    ("conv3d", lambda x, w: F.conv3d(x, w, padding=1), lambda: [r(1, 2, 4, 5, 5), r(3, 2, 3, 3, 3)]),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     lambda: [r(1, 4, 5, 5), r(4, 3, 3, 3), r(3)]),
    ("conv_transpose2d_groups", lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2),
     lambda: [r(1, 4, 4, 4), r(4, 2, 2, 2)]),
    ("conv2d_bf16", lambda x, w: F.conv2d(x, w, padding=1), lambda: [r(1, 3, 6, 6, dtype=torch.bfloat16), r(4, 3, 3, 3, dtype=torch.bfloat16)]),
    # --- pooling
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), lambda: [r(2, 3, 9, 9)]),
    ("max_pool2d_ceil_dilation", lambda x: F.max_pool2d(x, 2, 2, 0, dilation=2, ceil_mode=True), lambda: [r(1, 2, 9, 8)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1), lambda: [r(2, 3, 9, 9)]),
    ("avg_pool2d_exclude_pad_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), lambda: [r(1, 2, 8, 8)]),
    ("avg_pool2d_divisor", lambda x: F.avg_pool2d(x, 2, divisor_override=3), lambda: [r(1, 2, 6, 6)]),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2), lambda: [r(2, 3, 11)]),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1), lambda: [r(2, 3, 11)]),
    ("max_pool3d", lambda x: F.max_pool3d(x, 2), lambda: [r(1, 2, 4, 4, 4)]),
    ("avg_pool3d", lambda x: F.avg_pool3d(x, 2), lambda: [r(1, 2, 4, 4, 4)]),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), lambda: [r(2, 3, 8, 9)]),
    ("adaptive_avg_pool2d_global", lambda x: F.adaptive_avg_pool2d(x, 1), lambda: [r(2, 3, 7, 5)]),
    # --- matrix products
    ("mm", torch.mm, lambda: [r(5, 7), r(7, 3)]),
    ("bmm", torch.bmm, lambda: [r(2, 5, 7), r(2, 7, 3)]),
    ("matmul_broadcast", torch.matmul, lambda: [r(2, 1, 5, 7), r(3, 7, 4)]),
    ("matmul_vec_mat", torch.matmul, lambda: [r(7), r(2, 7, 4)]),
    ("matmul_mat_vec", torch.matmul, lambda: [r(3, 5, 7), r(7)]),
    ("matmul_dot", torch.matmul, lambda: [r(7), r(7)]),
    ("linear", F.linear, lambda: [r(2, 3, 8), r(5, 8), r(5)]),
    ("linear_nobias_1d", F.linear, lambda: [r(8), r(5, 8)]),
    ("addmm", lambda b, x, w: torch.addmm(b, x, w, beta=0.5, alpha=2.0), lambda: [r(4, 3), r(4, 6), r(6, 3)]),
    ("linear_fp16", F.linear, lambda: [r(4, 8, dtype=torch.float16), r(5, 8, dtype=torch.float16), r(5, dtype=torch.float16)]),
    # --- normalization
    ("batch_norm", lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, False, 0.1, 1e-3),
     lambda: [r(2, 3, 4, 4), r(3), pos(3), r(3), r(3)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4, 5), w, b, 1e-5), lambda: [r(2, 3, 4, 5), r(4, 5), r(4, 5)]),
    ("layer_norm_noaffine", lambda x: F.layer_norm(x, (5,)), lambda: [r(2, 3, 5)]),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b, 1e-5), lambda: [r(2, 4, 3, 3), r(4), r(4)]),
    ("layer_norm_bf16", lambda x: F.layer_norm(x, (8,)), lambda: [r(4, 8, dtype=torch.bfloat16)]),
    # --- reductions and softmax
    ("mean_dim", lambda x: x.mean(dim=(-1, 1), keepdim=True), lambda: [r(2, 3, 4)]),
    ("sum_all", lambda x: x.sum(), lambda: [r(2, 3, 4)]),
    ("sum_dim", lambda x: x.sum(dim=0), lambda: [r(2, 3, 4)]),
    ("int_sum", lambda x: x.sum(dim=1), lambda: [ri(3, 4)]),
    ("bool_sum", lambda x: (x > 0).sum(dim=1), lambda: [r(3, 4)]),
    ("amax_amin", lambda x: x.amax(dim=1) - x.amin(dim=(0, 2)).sum(), lambda: [r(2, 3, 4)]),
    ("any_all", lambda x: torch.any(x > 1, dim=1) | torch.all(x > -1.5, dim=1), lambda: [r(3, 5)]),
    ("prod", lambda x: x.prod(dim=1), lambda: [r(3, 4, lo=0.5, hi=1.5)]),
    ("var", lambda x: x.var(dim=1), lambda: [r(3, 6)]),
    ("var_unbiased_false", lambda x: x.var(dim=(0, 1), unbiased=False, keepdim=True), lambda: [r(3, 6, 2)]),
    ("softmax", lambda x: F.softmax(x, dim=-1), lambda: [r(2, 3, 7, lo=-20, hi=20)]),
    ("softmax_dim1", lambda x: F.softmax(x, dim=1), lambda: [r(2, 3, 7)]),
    ("log_softmax", lambda x: F.log_softmax(x, dim=1), lambda: [r(2, 5, 3)]),
    ("softmax_fp16", lambda x: F.softmax(x, dim=-1), lambda: [r(2, 9, dtype=torch.float16)]),
    # --- shapes
    ("view_flatten", lambda x: x.view(2, -1) * 2, lambda: [r(2, 3, 4)]),
    ("flatten", lambda x: torch.flatten(x, 1) + 1, lambda: [r(2, 3, 4)]),
    ("permute", lambda x: x.permute(2, 0, 1) + 1, lambda: [r(2, 3, 4)]),
    ("transpose", lambda x: x.transpose(0, 2) * 3, lambda: [r(2, 3, 4)]),
    ("t", lambda x: x.t() + 1, lambda: [r(3, 5)]),
    ("expand", lambda x: x.expand(2, 3, 4) + 0.5, lambda: [r(3, 1)]),
    ("squeeze_unsqueeze", lambda x: x.squeeze(1).unsqueeze(0) * 2, lambda: [r(3, 1, 4)]),
    ("slice", lambda x: x[:, 1:5:2, -3:] * 2, lambda: [r(2, 6, 5)]),
    ("slice_negative_end", lambda x: x[..., :-1] + 1, lambda: [r(2, 6, 5)]),
    ("select", lambda x: x[:, -1] + x[1], lambda: [r(3, 3, 4)]),
    ("cat", lambda a, b: torch.cat([a, b, a], dim=1), lambda: [r(2, 3, 4), r(2, 1, 4)]),
    ("cat_mixed_dtype", lambda a, b: torch.cat([a, b], dim=0), lambda: [r(2, 3), ri(1, 3)]),
    ("chunk_cat", lambda x: torch.cat(torch.chunk(x, 3, dim=1)[::-1], dim=1), lambda: [r(2, 6, 2)]),
    ("split_sizes", lambda x: torch.split(x, [1, 3, 2], dim=-1)[1] * 2, lambda: [r(2, 6)]),
    ("index_select", lambda x, i: torch.index_select(x, 1, i), lambda: [r(3, 5), torch.tensor([4, 0, 2, 2])]),
    ("embedding", lambda i, w: F.embedding(i, w), lambda: [torch.tensor([[1, 0, 3], [2, 2, 1]]), r(4, 6)]),
    ("gather", lambda x, i: torch.gather(x, 1, i), lambda: [r(3, 5), torch.tensor([[4, 0], [1, 1], [2, 3]])]),
    ("gather_dim0", lambda x, i: torch.gather(x, 0, i), lambda: [r(3, 4, 2), torch.randint(0, 3, (2, 4, 2))]),
    ("index_one_tensor", lambda x, i: x[:, i], lambda: [r(3, 5, 2), torch.tensor([[4, -1], [0, 2]])]),
    ("index_leading_broadcast", lambda x, a, b: x[a, b], lambda: [r(4, 5, 3), torch.tensor([[0], [3], [-1]]),
                                                                  torch.tensor([1, 4, 0, -2])]),
    ("index_bool_values", lambda m, a, b: m[a, b], lambda: [torch.rand(2, 6) > 0.5, torch.tensor([1, 0])[:, None],
                                                            torch.arange(6)[None, :]]),
    # Index tensors made in forward are constants: the flat index is computed at build time.
    ("index_constant_one", lambda x: x[:, torch.tensor([[4, -1], [0, 2]])], lambda: [r(3, 5, 2)]),
    ("index_constant_leading_broadcast", lambda x: x[torch.tensor([[0], [3], [-1]]), torch.tensor([1, 4, 0, -2])],
     lambda: [r(4, 5, 3)]),
    ("index_constant_bool_mask", lambda m: m[torch.tensor([1, 0])[:, None], torch.arange(6)[None, :]] & m[:1],
     lambda: [torch.rand(2, 6) > 0.5]),
    ("index_constant_every_row", lambda x: x[torch.tensor([0, 1])[:, None], torch.arange(3)[None, :]] * 2,
     lambda: [r(2, 3, 4)]),
    ("flatten_permuted", lambda x: torch.flatten(x.permute(0, 3, 1, 2), 1) * 2, lambda: [r(2, 1, 1, 5)]),
    ("as_strided_overlapping", lambda x: torch.as_strided(x[0, 0] + 1, (2, 2), (1, 1)), lambda: [r(2, 1, 5)]),
    ("as_strided_window", lambda x: torch.as_strided(x + 1, (3, 2, 2), (4, 4, 1), 1), lambda: [r(4, 4)]),
    ("as_strided_of_transpose", lambda x: torch.as_strided(x.t() * 1, (2, 3), (1, 2)), lambda: [r(3, 4)]),
    ("non_contiguous_input", lambda x: x * 2 + 1, lambda: [r(4, 3).t()]),
    # --- casts and constant producers
    ("to_fp16", lambda x: x.to(torch.float16) * 2, lambda: [r(3, 4)]),
    ("to_int", lambda x: x.to(torch.int32) + 1, lambda: [r(3, 4, lo=-9, hi=9)]),
    ("to_bool", lambda x: x.bool() | (x > 1), lambda: [torch.tensor([0.0, 1.0, -2.0, 0.5])]),
    ("full_like", lambda x: torch.full_like(x, 7.0) + x, lambda: [r(2, 3)]),
    ("zeros_ones_like", lambda x: torch.zeros_like(x) + torch.ones_like(x) * x, lambda: [r(2, 3)]),
    ("arange", lambda x: x + torch.arange(4, dtype=x.dtype, device=x.device), lambda: [r(3, 4)]),
    ("arange_step", lambda x: x * torch.arange(1, 9, 2, device=x.device), lambda: [r(3, 4)]),
    # --- resampling (separable constant maps)
    ("upsample_nearest_scale", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), lambda: [r(2, 3, 4, 5)]),
    ("upsample_nearest_size", lambda x: F.interpolate(x, size=(7, 3), mode="nearest"), lambda: [r(1, 2, 4, 5)]),
    ("upsample_nearest_exact", lambda x: F.interpolate(x, size=(7, 9), mode="nearest-exact"), lambda: [r(1, 2, 4, 5)]),
    ("upsample_bilinear", lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), lambda: [r(2, 3, 4, 5)]),
    ("upsample_bilinear_align", lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
     lambda: [r(1, 2, 4, 6)]),
    ("upsample_bilinear_down", lambda x: F.interpolate(x, size=(3, 2), mode="bilinear"), lambda: [r(1, 2, 7, 5)]),
    ("upsample_bicubic", lambda x: F.interpolate(x, size=(6, 9), mode="bicubic", align_corners=False),
     lambda: [r(1, 2, 4, 5)]),
    ("upsample_bicubic_align", lambda x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True),
     lambda: [r(1, 2, 3, 4)]),
    ("upsample_linear1d", lambda x: F.interpolate(x, scale_factor=3, mode="linear"), lambda: [r(2, 3, 5)]),
    ("upsample_nearest1d", lambda x: F.interpolate(x, size=11, mode="nearest"), lambda: [r(2, 3, 5)]),
    ("upsample_trilinear", lambda x: F.interpolate(x, size=(3, 4, 5), mode="trilinear"), lambda: [r(1, 2, 2, 3, 4)]),
    ("upsample_nearest3d", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), lambda: [r(1, 2, 2, 3, 2)]),
    ("adaptive_avg_pool_uneven", lambda x: F.adaptive_avg_pool2d(x, (3, 5)), lambda: [r(2, 3, 7, 8)]),
    ("adaptive_avg_pool_up", lambda x: F.adaptive_avg_pool2d(x, (7, 7)), lambda: [r(1, 4, 2, 2)]),
    ("adaptive_avg_pool_divisible", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), lambda: [r(2, 3, 4, 6)]),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), lambda: [r(2, 3, 7)]),
    ("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, 3, 1)), lambda: [r(1, 2, 5, 4, 3)]),
    # --- padding, repeat, flip, roll
    ("pad_constant", lambda x: F.pad(x, (1, 2, 0, 3), value=0.5), lambda: [r(2, 3, 4)]),
    ("pad_negative", lambda x: F.pad(x, (-1, 2, 1, -2)), lambda: [r(2, 5, 6)]),
    ("pad_int", lambda x: F.pad(x, (2, 1)) + 1, lambda: [ri(3, 4)]),
    ("repeat", lambda x: x.repeat(2, 1, 3), lambda: [r(3, 4)]),
    ("repeat_same_rank", lambda x: x.repeat(1, 2), lambda: [r(3, 2)]),
    ("flip", lambda x: x.flip(0, 2), lambda: [r(3, 4, 5)]),
    ("roll", lambda x: torch.roll(x, shifts=(2, -1), dims=(1, 2)), lambda: [r(2, 5, 4)]),
    # --- functionalized writes
    ("slice_assign", lambda x, y: _assigned(x, y), lambda: [r(3, 6, 4), r(3, 2, 4)]),
    ("select_assign", lambda x, y: _selected(x, y), lambda: [r(3, 5), r(3)]),
    ("copy_broadcast", lambda x, y: x.clone().copy_(y) * 2, lambda: [r(3, 4), r(4)]),
    ("window_mask_fill", lambda x: x + _window_mask(x), lambda: [r(2, 6, 6)]),
    # --- composite reductions and scans
    ("argmax", lambda x: torch.argmax(x, dim=1), lambda: [r(3, 7, 2)]),
    ("argmax_keepdim_ties", lambda x: torch.argmax(x, dim=-1, keepdim=True), lambda: [ri(4, 6, lo=0, hi=3)]),
    ("argmax_flat", lambda x: torch.argmax(x), lambda: [r(3, 4)]),
    ("argmin", lambda x: torch.argmin(x, dim=0), lambda: [r(5, 3)]),
    ("max_dim", lambda x: torch.max(x, dim=1), lambda: [r(3, 6, 2)]),
    ("min_dim_values", lambda x: torch.min(x, dim=-1, keepdim=True).values * 2, lambda: [r(3, 6)]),
    ("vector_norm", lambda x: torch.linalg.vector_norm(x, dim=1), lambda: [r(3, 6, 2)]),
    ("normalize", lambda x: F.normalize(x, dim=-1), lambda: [r(4, 8)]),
    ("vector_norm_ords", lambda x: torch.linalg.vector_norm(x, 1) + torch.linalg.vector_norm(x, float("inf"), dim=0)
     + torch.linalg.vector_norm(x, 3, dim=1, keepdim=True), lambda: [r(3, 4)]),
    ("fmod", lambda x, y: torch.fmod(x, y), lambda: [r(3, 4, lo=-5, hi=5), pos(3, 4)]),
    ("fmod_int_scalar", lambda x: torch.fmod(x, 3), lambda: [ri(4, 5, lo=-9, hi=9)]),
    ("cumsum", lambda x: torch.cumsum(x, dim=1), lambda: [r(3, 9, 2)]),
    ("cumsum_int", lambda x: torch.cumsum(x, dim=-1), lambda: [ri(2, 37, lo=0, hi=2)]),
    ("cumsum_bool_mask", lambda m: torch.cumsum(m.int(), dim=1) * m, lambda: [ri(2, 8, lo=0, hi=2, dtype=torch.int32)]),
    # --- attention
    ("sdpa", F.scaled_dot_product_attention, lambda: [r(2, 3, 5, 8), r(2, 3, 6, 8), r(2, 3, 6, 4)]),
    ("sdpa_causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
     lambda: [r(2, 2, 5, 8), r(2, 2, 5, 8), r(2, 2, 5, 8)]),
    ("sdpa_bool_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     lambda: [r(1, 2, 4, 8), r(1, 2, 6, 8), r(1, 2, 6, 8), torch.rand(4, 6) > 0.3]),
    ("sdpa_float_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     lambda: [r(1, 2, 4, 8), r(1, 2, 6, 8), r(1, 2, 6, 8), r(1, 1, 4, 6)]),
]


@pytest.mark.parametrize("name,fn,make", ROWS, ids=[row[0] for row in ROWS])
def test_op_matches_eager(name, fn, make):
    inputs = make()
    compiled, expected, actual = run_compiled(Fn(fn), inputs, require_full_compilation=True)
    assert_close(actual, expected)
