"""The benchmark models, built with random weights (nothing is downloaded)."""

import torch


class BertEncoder(torch.nn.Module):
    """transformers BertModel (bert-base config); returns the last hidden state."""

    def __init__(self):
        super().__init__()
        from transformers import BertConfig, BertModel

        self.bert = BertModel(BertConfig(), add_pooling_layer=False)

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def build(name: str):
    """Returns (model, make_inputs(batch, device, dtype), is_cnn)."""
    if name == "resnet50":
        import torchvision

        return torchvision.models.resnet50(weights=None).eval(), _image, True
    if name == "efficientnet_b0":
        import timm

        return timm.create_model("efficientnet_b0", pretrained=False).eval(), _image, True
    if name == "vit_b_16":
        import torchvision

        model = torchvision.models.vit_b_16(weights=None).eval()
        # torchvision zero-initializes the classifier, which would make every output 0 and
        # every accuracy comparison meaningless.
        torch.nn.init.normal_(model.heads.head.weight, std=0.02)
        torch.nn.init.normal_(model.heads.head.bias, std=0.02)
        return model, _image, False
    if name == "bert":
        return BertEncoder().eval(), _text, False
    raise ValueError(f"unknown model {name}")


def _image(batch, device, dtype, size=224):
    return (torch.randn(batch, 3, size, size, device=device, dtype=dtype),)


def _text(batch, device, dtype, seq=128):
    ids = torch.randint(0, 30522, (batch, seq), device=device)
    mask = torch.ones(batch, seq, dtype=torch.int64, device=device)
    return (ids, mask)
