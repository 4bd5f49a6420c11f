"""The conformance zoo: model constructors with random weights (nothing is downloaded).

Each entry is a `ZooModel`: a name, a family, a constructor and an input maker. `small=True`
(the CPU run) shrinks what can shrink without changing the model's operators: image size for
convolutional networks that accept any size, and the depth of transformers built from config.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Tuple

import torch

# Models whose architecture fixes the input resolution (position embeddings, windows, fixed
# pooling grids); everything else runs at SMALL_IMAGE on the CPU.
FIXED_224 = ("vit", "swin", "maxvit", "deit", "mixer", "levit", "pit", "coat", "xcit", "crossvit",
             "beit", "efficientformer", "visformer")
SMALL_IMAGE = 64


@dataclasses.dataclass
class ZooModel:
    name: str       # "torchvision/resnet18", "timm/convnext_atto", "transformers/bert"
    family: str
    build: Callable[[bool], torch.nn.Module]             # build(small) -> module in eval mode
    inputs: Callable[[bool, int], Tuple[torch.Tensor, ...]]  # inputs(small, batch)


def _image_size(name: str, small: bool, default: int = 224) -> int:
    if any(k in name for k in FIXED_224):
        return default
    if "inception" in name:
        return 96 if small else 299   # inception_v3 needs at least 75 pixels
    return SMALL_IMAGE if small else default


def _images(name: str, default: int = 224):
    def make(small: bool, batch: int):
        s = _image_size(name, small, default)
        return (torch.randn(batch, 3, s, s),)
    return make


# ---- torchvision: every classification model

TORCHVISION = [
    "alexnet", "convnext_base", "convnext_large", "convnext_small", "convnext_tiny", "densenet121",
    "densenet161", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
    "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
    "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s", "googlenet", "inception_v3", "maxvit_t",
    "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v2", "mobilenet_v3_large",
    "mobilenet_v3_small", "regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf", "regnet_x_3_2gf",
    "regnet_x_400mf", "regnet_x_800mf", "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf", "regnet_y_1_6gf",
    "regnet_y_32gf", "regnet_y_3_2gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_8gf", "resnet101",
    "resnet152", "resnet18", "resnet34", "resnet50", "resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "squeezenet1_0",
    "squeezenet1_1", "swin_b", "swin_s", "swin_t", "swin_v2_b", "swin_v2_s", "swin_v2_t", "vgg11", "vgg11_bn",
    "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vit_b_16", "vit_b_32", "vit_h_14",
    "vit_l_16", "vit_l_32", "wide_resnet101_2", "wide_resnet50_2",
]


def _torchvision(name: str):
    def build(small: bool):
        import torchvision

        kwargs = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
        model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
        _randomize_zero_heads(model)
        return model
    return build


def _randomize_zero_heads(model: torch.nn.Module):
    """Some constructors zero-initialize the classifier (torchvision ViT), which would make
    every output 0 and every comparison meaningless."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Linear) and not m.weight.any():
                torch.nn.init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    torch.nn.init.normal_(m.bias, std=0.02)


# ---- timm: families across CNNs, mobile nets, vision transformers and MLP models

TIMM = [
    "resnet18", "resnet50d", "resnext50_32x4d", "seresnet18", "skresnet18", "res2net50_14w_8s", "resnest14d",
    "cspresnet50", "dla34", "dpn68", "densenet121", "efficientnet_b0", "efficientnet_lite0",
    "tf_efficientnet_b0", "mobilenetv2_100", "mobilenetv3_large_100", "mobilenetv3_small_100", "mnasnet_100",
    "fbnetc_100", "ghostnet_100", "lcnet_050", "rexnet_100", "regnetx_002", "regnety_002", "repvgg_a2",
    "hrnet_w18_small", "inception_v3", "xception41", "convnext_atto", "convnextv2_atto", "vgg11",
    "ese_vovnet19b_dw", "gernet_s", "vit_tiny_patch16_224", "deit_tiny_patch16_224",
    "deit_tiny_distilled_patch16_224", "swin_tiny_patch4_window7_224", "mixer_b16_224", "levit_128s",
    "poolformer_s12", "pit_ti_224", "coat_lite_tiny", "edgenext_xx_small", "mobilevit_xxs",
    "efficientformer_l1", "xcit_nano_12_p16_224", "visformer_tiny", "tinynet_a",
]


def _timm(name: str):
    def build(small: bool):
        import timm

        return timm.create_model(name, pretrained=False).eval()
    return build


def _timm_inputs(name: str):
    def make(small: bool, batch: int):
        import timm

        size = timm.get_pretrained_cfg_value(name, "input_size") or (3, 224, 224)
        s = _image_size(name, small, size[-1])
        return (torch.randn(batch, 3, s, s),)
    return make


# ---- transformers: encoders (and GPT-2) built from config

class _FirstOutput(torch.nn.Module):
    """Calls a transformers model with keyword inputs and returns its first output."""

    def __init__(self, model, keys):
        super().__init__()
        self.model = model
        self.keys = keys

    def forward(self, *args):
        return self.model(**dict(zip(self.keys, args)), return_dict=False)[0]


def _hf(config_name: str, model_name: str, keys, vocab_attr="vocab_size", image=False, **overrides):
    def build(small: bool):
        import transformers

        config = getattr(transformers, config_name)(**overrides)
        if small:
            for attr in ("num_hidden_layers", "num_layers", "n_layer"):
                if hasattr(config, attr) and not isinstance(getattr(config, attr), (list, tuple)):
                    setattr(config, attr, 2)
            if hasattr(config, "depths"):   # Swin: two stages keep every operator
                config.depths = [2, 2]
                config.num_heads = config.num_heads[:2]
        model = getattr(transformers, model_name)(config).eval()
        return _FirstOutput(model, keys)

    def inputs(small: bool, batch: int):
        import transformers

        if image:
            return (torch.randn(batch, 3, 224, 224),)
        config = getattr(transformers, config_name)(**overrides)
        vocab = getattr(config, vocab_attr)
        seq = min(32 if small else 128, getattr(config, "max_position_embeddings", 128))
        ids = torch.randint(0, vocab, (batch, seq))
        if len(keys) == 1:
            return (ids,)
        mask = torch.ones(batch, seq, dtype=torch.int64)
        mask[:, seq - seq // 4:] = 0   # a padded tail, except in the first sequence
        mask[0, :] = 1
        return (ids, mask)
    return build, inputs


_TEXT = ("input_ids", "attention_mask")
TRANSFORMERS = {
    "bert": _hf("BertConfig", "BertModel", _TEXT),
    "roberta": _hf("RobertaConfig", "RobertaModel", _TEXT),
    "distilbert": _hf("DistilBertConfig", "DistilBertModel", _TEXT),
    "albert": _hf("AlbertConfig", "AlbertModel", _TEXT),
    "electra": _hf("ElectraConfig", "ElectraModel", _TEXT),
    "deberta_v2": _hf("DebertaV2Config", "DebertaV2Model", _TEXT),
    "vit": _hf("ViTConfig", "ViTModel", ("pixel_values",), image=True),
    "swin": _hf("SwinConfig", "SwinModel", ("pixel_values",), image=True),
    "clip_vision": _hf("CLIPVisionConfig", "CLIPVisionModel", ("pixel_values",), image=True),
    "clip_text": _hf("CLIPTextConfig", "CLIPTextModel", _TEXT),
    "t5_encoder": _hf("T5Config", "T5EncoderModel", _TEXT),
    "gpt2": _hf("GPT2Config", "GPT2Model", ("input_ids",), use_cache=False),
}


def zoo() -> List[ZooModel]:
    out = []
    for name in TORCHVISION:
        out.append(ZooModel(f"torchvision/{name}", "torchvision", _torchvision(name), _images(name)))
    for name in TIMM:
        out.append(ZooModel(f"timm/{name}", "timm", _timm(name), _timm_inputs(name)))
    for name, (build, inputs) in TRANSFORMERS.items():
        out.append(ZooModel(f"transformers/{name}", "transformers", build, inputs))
    return out


def by_name(name: str) -> ZooModel:
    for m in zoo():
        if m.name == name:
            return m
    raise KeyError(f"no zoo model named {name!r}")
