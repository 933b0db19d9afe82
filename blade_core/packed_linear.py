"""Prepacked linear weights for batched generation on the CPU.

A decode step of a batch multiplies a few dozen rows by every weight matrix. At that size a plain
`F.linear` spends much of its time re-laying the weight out for the GEMM kernel on every call;
oneDNN can do that once (`torch.ops.mkldnn._reorder_linear_weight`, what `torch.compile`'s
freezing does on CPU). Measured on the 2-core development VM, fp32, 32 rows: the 0.5B shape's MLP
and output-layer GEMMs run 1.5-1.8x faster; for one row they are ~30% slower, so one-question
generation keeps the plain kernels (`MIN_ROWS`). Results agree with `F.linear` to fp32 rounding
(max difference ~2e-6, the same as between differently shaped plain GEMMs).

The packed copies cost one more copy of the linear weights in memory (about 2 GB for a 0.5B model
in fp32), made on the first batched generation and kept until the weights change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

MIN_ROWS = 2
"""Batches with fewer rows use the plain kernels: packing slows a single row down."""


def packing_supported(model: nn.Module) -> bool:
    """fp32 weights on the CPU with oneDNN: the case the packed kernels were measured for."""
    parameter = next(model.parameters(), None)
    return (
        parameter is not None
        and parameter.device.type == "cpu"
        and parameter.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


def _weights_version(model: nn.Module) -> int:
    return sum(0 if p.is_inference() else p._version for p in model.parameters())


class PackedLinears:
    """oneDNN-packed copies of a model's `nn.Linear` weights, used inside `active()`.

    Shared by every view of one `DomainLM` (they share the weights), rebuilt when an in-place
    update (training) bumps a weight's version or the weights are replaced.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._packs: dict[nn.Linear, torch.Tensor] = {}

    def _refresh(self, model: nn.Module, rows: int) -> None:
        key = (id(model), tuple(id(p) for p in model.parameters()), _weights_version(model))
        if key != self._key:
            self._packs = {}  # free the stale copies before making new ones
            for module in model.modules():
                # a module whose forward is already replaced (accelerate hooks, another wrapper)
                # is left alone
                if type(module) is nn.Linear and "forward" not in vars(module):
                    self._packs[module] = torch.ops.mkldnn._reorder_linear_weight(module.weight.detach(), rows)
            self._key = key

    @contextmanager
    def active(self, model: nn.Module, rows: int) -> Iterator[None]:
        """Run `model`'s linears on the packed weights for a batch of `rows` rows (no-op when
        `rows < MIN_ROWS`). Call with the model's generation lock held: it patches the modules."""
        if rows < MIN_ROWS:
            yield
            return
        self._refresh(model, rows)
        for module, packed in self._packs.items():
            module.forward = _packed_forward(packed, module.bias)  # type: ignore[method-assign]
        try:
            yield
        finally:
            for module in self._packs:
                del module.forward


def _packed_forward(packed: torch.Tensor, bias: torch.Tensor | None) -> Any:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")

    return forward
