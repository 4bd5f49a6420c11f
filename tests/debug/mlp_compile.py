# Smallest reproduction of a compile crash seen on the GPU machine (CPU backend).
import torch
import ingot


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(16, 32)
        self.b = torch.nn.Linear(32, 4)

    def forward(self, x):
        return self.b(torch.nn.functional.gelu(self.a(x)))


data = ingot.convert_method_to_engine(MLP().eval(), inputs=[ingot.Input(shape=(3, 16))])
print("ok", len(data))
