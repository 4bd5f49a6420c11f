"""Bad inputs and settings get ingot.Error with a message that names the problem."""

import pytest
import torch

import ingot
from conftest import run_compiled


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x, y):
        return self.fc(x).relu() + y


@pytest.fixture(scope="module")
def compiled():
    return ingot.compile(Small().eval(), inputs=[ingot.Input(shape=(2, 4)), ingot.Input(shape=(2, 3))], min_block_size=1)


def test_wrong_rank(compiled):
    with pytest.raises(ingot.Error, match=r"input 'x' must have rank 2"):
        compiled(torch.randn(2, 4, 1), torch.randn(2, 3))


def test_wrong_dtype(compiled):
    with pytest.raises(ingot.Error, match=r"input 'y' must have dtype torch.float32, got torch.float16"):
        compiled(torch.randn(2, 4), torch.randn(2, 3).half())


def test_wrong_shape(compiled):
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 must be 2"):
        compiled(torch.randn(3, 4), torch.randn(2, 3))


def test_wrong_count(compiled):
    with pytest.raises((ingot.Error, TypeError)):
        compiled(torch.randn(2, 4))


def test_engine_checks_its_inputs_too(compiled):
    # Calling the op directly bypasses the module's check: the engine still refuses.
    plan = next(b for n, b in compiled.named_buffers() if n.startswith("_ingot_engine_"))
    node = next(n for n in compiled.graph.nodes if n.target == torch.ops.ingot.execute_engine.default)
    with pytest.raises(RuntimeError, match=r"dim 0 must be 2"):
        torch.ops.ingot.execute_engine([torch.randn(5, 4), torch.randn(5, 3)], plan, node.args[2])


@pytest.mark.parametrize("kwargs,match", [
    ({"ir": "torchscript"}, "ir='torchscript' is not supported"),
    ({"min_block_size": 0}, "min_block_size must be >= 1"),
    ({"enabled_precisions": {torch.int8}}, "enabled_precisions"),
    ({"optimization_level": 9}, "optimization_level"),
    ({"torch_executed_ops": ["relu"]}, "must name an op"),
    ({"no_such_setting": 1}, "unknown compile setting"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ingot.Error, match=match):
        ingot.compile(Small(), inputs=[torch.randn(2, 4), torch.randn(2, 3)], **kwargs)


def test_bad_input_specs():
    with pytest.raises(ingot.Error, match="min <= opt <= max"):
        ingot.Input(min_shape=(4, 2), opt_shape=(2, 2), max_shape=(8, 2))
    with pytest.raises(ingot.Error, match="needs inputs"):
        ingot.compile(Small())
    with pytest.raises(ingot.Error, match="torch.export could not capture"):
        ingot.compile(Small(), inputs=[torch.randn(2, 5), torch.randn(2, 3)])


def test_cuda_backend_is_refused_without_it():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ingot.Error, match="GPU|backend"):
        ingot.compile(Small(), inputs=[torch.randn(2, 4), torch.randn(2, 3)], device="cuda")
