import pytest
import torch

import ingot

# Per-dtype tolerances for comparing against eager PyTorch (shared/DESIGN.md).
# The SDPA runner's tactics for our attention kernels (CUDA cores; tensor cores, 1, 2 or 4 warps a block).
OWN_ATTENTION_TACTICS = ("ingot:attention", "ingot:attention-mma-w1", "ingot:attention-mma-w2", "ingot:attention-mma-w4")

RTOL = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 1e-2}


def rel_l2(actual: torch.Tensor, expected: torch.Tensor) -> float:
    a, e = actual.double(), expected.double()
    denom = e.norm().item()
    return (a - e).norm().item() / (denom if denom > 0 else 1.0)


def assert_close(actual, expected, dtype=None):
    """Elementwise closeness with the dtype's relative tolerance (atol scaled to the data)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_close(a, e, dtype)
        return
    assert isinstance(actual, torch.Tensor), f"expected a tensor, got {type(actual).__name__}"
    assert actual.shape == expected.shape, f"shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != {expected.dtype}"
    if not expected.dtype.is_floating_point:
        assert torch.equal(actual, expected), f"mismatch:\n{actual}\nvs\n{expected}"
        return
    rtol = RTOL.get(dtype or expected.dtype, 1e-4)
    scale = expected.detach().abs().float().nan_to_num(0, 0, 0).max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * max(scale, 1e-3), equal_nan=True)


def run_compiled(module, inputs, **kwargs):
    """Compiles `module` for `inputs` (example tensors) and returns (compiled, expected, actual)."""
    module = module.eval()
    kwargs.setdefault("min_block_size", 1)
    compiled = ingot.compile(module, ir="dynamo", inputs=list(inputs), **kwargs)
    with torch.inference_mode():
        expected = module(*inputs)
        actual = compiled(*inputs)
    return compiled, expected, actual


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
