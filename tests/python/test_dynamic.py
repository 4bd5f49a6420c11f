"""Dynamic shapes on the CPU reference backend: one engine over a range of batch sizes and
sequence lengths, shared symbols, several optimization profiles, out-of-range errors, and
save/load of the ranges."""

import pytest
import torch
import torchvision

import ingot
from ingot import _C
from conftest import assert_close


def _engine_plans(module):
    return [getattr(module, n.args[1].target) for n in module.graph.nodes
            if n.op == "call_function" and n.target == torch.ops.ingot.execute_engine.default]


def _profiles(module):
    return [_C.plan_profiles(p.numpy().tobytes()) for p in _engine_plans(module)]


# ---------------------------------------------------------------- ResNet-18, batch 1..64

@pytest.fixture(scope="module")
def resnet_dynamic():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    spec = ingot.Input(min_shape=(1, 3, 32, 32), opt_shape=(8, 3, 32, 32), max_shape=(64, 3, 32, 32))
    compiled = ingot.compile(model, ir="dynamo", inputs=[spec], min_block_size=1)
    return model, compiled


def test_resnet18_batch_sweep(resnet_dynamic):
    model, compiled = resnet_dynamic
    for batch in (1, 2, 3, 7, 13, 31, 64):
        x = torch.randn(batch, 3, 32, 32)
        with torch.inference_mode():
            assert_close(compiled(x), model(x))
    infos = _profiles(compiled)
    assert len(infos) == 1, "one engine for the whole model"
    (sym,) = infos[0]["symbols"]
    assert infos[0]["symbols"][sym] == (1, 64)
    assert infos[0]["profiles"] == [{sym: (1, 8, 64)}]


@pytest.mark.parametrize("batch, words", [(65, "is 65, outside the range [1, 64]"), (0, "is 0, outside the range [1, 64]")])
def test_resnet18_out_of_range(resnet_dynamic, batch, words):
    _, compiled = resnet_dynamic
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 " + words.replace("[", r"\[").replace("]", r"\]")):
        compiled(torch.randn(batch, 3, 32, 32))


def test_static_dim_mismatch_is_named(resnet_dynamic):
    _, compiled = resnet_dynamic
    with pytest.raises(ingot.Error, match=r"input 'x' dim 2 must be 32"):
        compiled(torch.randn(2, 3, 33, 32))


# ---------------------------------------------------------------- transformer, batch x seq

class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
                                                      batch_first=True)

    def forward(self, x, padding_mask):
        return self.layer(x, src_key_padding_mask=padding_mask)


def _padding_mask(batch, seq):
    lengths = torch.randint(1, seq + 1, (batch,))
    return torch.arange(seq)[None, :] >= lengths[:, None]  # True: padding; position 0 never is


@pytest.fixture(scope="module")
def encoder_dynamic():
    torch.manual_seed(0)
    model = Encoder().eval()
    inputs = [
        ingot.Input(min_shape=(1, 1, 32), opt_shape=(4, 128, 32), max_shape=(16, 512, 32)),
        ingot.Input(min_shape=(1, 1), opt_shape=(4, 128), max_shape=(16, 512), dtype=torch.bool),
    ]
    compiled = ingot.compile(model, ir="dynamo", inputs=inputs, min_block_size=1)
    return model, compiled


def test_encoder_shares_batch_and_sequence_symbols(encoder_dynamic):
    _, compiled = encoder_dynamic
    infos = _profiles(compiled)
    assert infos, "the encoder compiles to engines"
    # x's and the mask's batch and sequence dims are one symbol each.
    symbols = set()
    for info in infos:
        symbols |= set(info["symbols"])
    assert len(symbols) == 2, symbols
    ranges = sorted(infos[0]["profiles"][0].values())
    assert ranges == [(1, 4, 16), (1, 128, 512)]


@pytest.mark.parametrize("batch, seq", [(1, 1), (16, 512), (1, 512), (16, 1), (2, 17), (3, 127), (5, 2), (7, 3)])
def test_encoder_sweep(encoder_dynamic, batch, seq):
    model, compiled = encoder_dynamic
    x = torch.randn(batch, seq, 32)
    mask = _padding_mask(batch, seq)
    with torch.inference_mode():
        expected = model(x, mask)
        actual = compiled(x, mask)
    keep = ~mask  # eager PyTorch leaves padded positions unspecified
    assert_close(actual[keep], expected[keep])


def test_encoder_mismatched_shared_dim(encoder_dynamic):
    _, compiled = encoder_dynamic
    with pytest.raises(RuntimeError, match=r"dim 1|must be equal|same|mismatch|size"):
        compiled(torch.randn(2, 9, 32), _padding_mask(2, 8))


def test_encoder_out_of_range(encoder_dynamic):
    _, compiled = encoder_dynamic
    with pytest.raises(ingot.Error, match=r"input 'x' dim 1 is 513, outside the range \[1, 512\]"):
        compiled(torch.randn(1, 513, 32), _padding_mask(1, 513))
    with pytest.raises(ingot.Error, match=r"input 'padding_mask' dim 0 is 17, outside the range \[1, 16\]"):
        compiled(torch.randn(16, 4, 32), _padding_mask(17, 4))


# ---------------------------------------------------------------- two profiles

class SmallCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return self.fc(y.mean((2, 3))).softmax(-1)


def _bn_stats(model):
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture(scope="module")
def two_profiles():
    torch.manual_seed(0)
    model = _bn_stats(SmallCnn()).eval()
    profiles = [
        [ingot.Input(min_shape=(1, 3, 8, 8), opt_shape=(2, 3, 8, 8), max_shape=(3, 3, 8, 8))],
        [ingot.Input(min_shape=(5, 3, 8, 8), opt_shape=(32, 3, 8, 8), max_shape=(64, 3, 8, 8))],
    ]
    compiled = ingot.compile(model, ir="dynamo", inputs=profiles, min_block_size=1)
    return model, compiled


def test_two_profiles_pick_the_profile_that_fits(two_profiles):
    model, compiled = two_profiles
    infos = _profiles(compiled)
    assert len(infos) == 1
    (sym,) = infos[0]["symbols"]
    assert infos[0]["symbols"][sym] == (1, 64)  # the union
    assert infos[0]["profiles"] == [{sym: (1, 2, 3)}, {sym: (5, 32, 64)}]
    for batch, profile in ((1, 0), (64, 1), (3, 0), (5, 1), (2, 0), (37, 1)):
        x = torch.randn(batch, 3, 8, 8)
        with torch.inference_mode():
            assert_close(compiled(x), model(x))
        assert ingot.last_profiles(compiled) == [profile], batch


def test_two_profiles_gap_and_range_errors(two_profiles):
    _, compiled = two_profiles
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 is 4, which no optimization profile covers; the profiles "
                                          r"allow \[1, 3\] \(profile 0\), \[5, 64\] \(profile 1\)"):
        compiled(torch.randn(4, 3, 8, 8))
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 is 65, outside the range \[1, 64\]"):
        compiled(torch.randn(65, 3, 8, 8))


def test_engine_rejects_gap_itself(two_profiles):
    # The runtime checks profiles too (the C++ API has no Python checks in front of it).
    _, compiled = two_profiles
    (plan,) = _engine_plans(compiled)
    sig = next(n.args[2] for n in compiled.graph.nodes if n.target == torch.ops.ingot.execute_engine.default)
    with pytest.raises(RuntimeError, match=r"input 'x' \(#0\) dim 0 is 4, which no optimization profile covers.*"
                                           r"\[1, 3\] \(profile 0\), \[5, 64\] \(profile 1\)"):
        torch.ops.ingot.execute_engine([torch.randn(4, 3, 8, 8)], plan, sig)


def test_profiles_must_describe_the_same_inputs():
    model = SmallCnn().eval()
    with pytest.raises(ingot.Error, match=r"input 0 has rank 4 in profile 0 but 3 in profile 1"):
        ingot.compile(model, inputs=[[ingot.Input(shape=(1, 3, 8, 8))], [ingot.Input(shape=(3, 8, 8))]])
    with pytest.raises(ingot.Error, match="optimization profile 1 has 2 input"):
        ingot.compile(model, inputs=[[ingot.Input(shape=(1, 3, 8, 8))],
                                     [ingot.Input(shape=(1, 3, 8, 8)), ingot.Input(shape=(1, 3, 8, 8))]])


def test_static_profiles_of_different_sizes():
    # Two fixed batch sizes: one engine, two profiles, nothing in between.
    torch.manual_seed(0)
    model = _bn_stats(SmallCnn()).eval()
    compiled = ingot.compile(model, inputs=[[ingot.Input(shape=(1, 3, 8, 8))], [ingot.Input(shape=(4, 3, 8, 8))]],
                             min_block_size=1)
    for batch, profile in ((4, 1), (1, 0)):
        x = torch.randn(batch, 3, 8, 8)
        with torch.inference_mode():
            assert_close(compiled(x), model(x))
        assert ingot.last_profiles(compiled) == [profile]
    with pytest.raises(ingot.Error, match=r"input 'x' dim 0 is 2, which no optimization profile covers; the profiles "
                                          r"allow \[1, 1\] \(profile 0\), \[4, 4\] \(profile 1\)"):
        compiled(torch.randn(2, 3, 8, 8))


# ---------------------------------------------------------------- save / load

def test_save_load_keeps_profiles(two_profiles, tmp_path):
    model, compiled = two_profiles
    path = tmp_path / "two_profiles.pt2"
    ingot.save(compiled, path)
    again = ingot.load(path)
    for batch in (1, 3, 5, 64):
        x = torch.randn(batch, 3, 8, 8)
        with torch.inference_mode():
            assert_close(again(x), model(x))
    ep = torch.export.load(path)
    from ingot._save_load import _engine_buffers
    (tensor,) = [t for _, t in _engine_buffers(ep)]
    info = _C.plan_profiles(tensor.numpy().tobytes())
    (sym,) = info["symbols"]
    assert info["profiles"] == [{sym: (1, 2, 3)}, {sym: (5, 32, 64)}]
    # Same messages as the compiled module's.
    for batch, words in ((65, r"is 65, outside the range \[1, 64\]"), (4, "is 4, which no optimization profile")):
        with pytest.raises(ingot.Error, match=r"input 'x' dim 0 " + words):
            again(torch.randn(batch, 3, 8, 8))
