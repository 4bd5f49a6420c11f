"""ingot.Input: the shape, dtype and (for dynamic shapes) range of one model input.

Mirrors torch_tensorrt.Input: either ``Input(shape=..., dtype=...)`` for a static input, or
``Input(min_shape=..., opt_shape=..., max_shape=..., dtype=...)`` for a dynamic one.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch

from ingot._errors import Error


class Input:
    def __init__(
        self,
        shape: Optional[Sequence[int]] = None,
        dtype: torch.dtype = torch.float32,
        *,
        min_shape: Optional[Sequence[int]] = None,
        opt_shape: Optional[Sequence[int]] = None,
        max_shape: Optional[Sequence[int]] = None,
        name: Optional[str] = None,
        format: torch.memory_format = torch.contiguous_format,
        low_tensor_domain_incl: float = 0.0,
        high_tensor_domain_excl: float = 2.0,
    ):
        if not isinstance(dtype, torch.dtype):
            raise Error(f"Input dtype must be a torch.dtype, got {dtype!r}")
        if format not in (torch.contiguous_format,):
            raise Error(f"Input format {format} is not supported; only torch.contiguous_format is")
        if shape is not None:
            if min_shape is not None or max_shape is not None:
                raise Error("give either shape= or min_shape/opt_shape/max_shape, not both")
            self.min_shape = self.opt_shape = self.max_shape = _dims(shape, "shape")
        else:
            if min_shape is None or opt_shape is None or max_shape is None:
                raise Error("a dynamic Input needs min_shape, opt_shape and max_shape")
            self.min_shape = _dims(min_shape, "min_shape")
            self.opt_shape = _dims(opt_shape, "opt_shape")
            self.max_shape = _dims(max_shape, "max_shape")
            if not (len(self.min_shape) == len(self.opt_shape) == len(self.max_shape)):
                raise Error(f"min/opt/max shapes differ in rank: {self.min_shape}, {self.opt_shape}, {self.max_shape}")
            for lo, opt, hi in zip(self.min_shape, self.opt_shape, self.max_shape):
                if not lo <= opt <= hi:
                    raise Error(f"need min <= opt <= max in every dim, got {self.min_shape}, {self.opt_shape}, {self.max_shape}")
        self.dtype = dtype
        self.name = name
        self.format = format
        self.tensor_domain = (low_tensor_domain_incl, high_tensor_domain_excl)

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.opt_shape

    def is_dynamic(self) -> bool:
        return self.min_shape != self.max_shape

    def dynamic_dims(self):
        return [i for i, (lo, hi) in enumerate(zip(self.min_shape, self.max_shape)) if lo != hi]

    @classmethod
    def from_tensor(cls, t: torch.Tensor) -> "Input":
        return cls(shape=tuple(t.shape), dtype=t.dtype)

    def example_tensor(self, shape_mode: str = "opt", device="cpu") -> torch.Tensor:
        shape = {"min": self.min_shape, "opt": self.opt_shape, "max": self.max_shape}[shape_mode]
        lo, hi = self.tensor_domain
        if self.dtype.is_floating_point:
            return (torch.rand(shape, device=device) * (hi - lo) + lo).to(self.dtype)
        if self.dtype == torch.bool:
            return torch.rand(shape, device=device) > 0.5
        return torch.randint(int(lo), max(int(hi), int(lo) + 1), shape, dtype=self.dtype, device=device)

    def __repr__(self) -> str:
        if not self.is_dynamic():
            return f"Input(shape={self.opt_shape}, dtype={self.dtype})"
        return (f"Input(min_shape={self.min_shape}, opt_shape={self.opt_shape}, "
                f"max_shape={self.max_shape}, dtype={self.dtype})")


def _dims(shape, what) -> Tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise Error(f"Input {what} must be a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise Error(f"Input {what} has a negative dimension: {dims}")
    return dims
