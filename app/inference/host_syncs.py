"""Count the places a forward would wait for the device, on any device (issue 32).

On a GPU every read of a tensor's value on the host (`.item()`, `int(t)`,
`if t:`, `.tolist()`) and every op whose output size depends on the data
(`nonzero`, `bincount`, `unique`, ...) blocks the host until the device has
caught up, and makes the step impossible to capture as a CUDA graph. On the
CPU nothing waits, so `HostSyncs` counts the calls instead: the aten ops seen
through a dispatch mode, and the Python-level reads (`tolist`, `item`, `int`,
`bool`, ...), which on the CPU in inference mode reach no dispatcher at all.
The count on the CPU is the count a GPU would sync.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# Tensor methods that read values on the host.
READS = ("tolist", "item", "__int__", "__index__", "__float__", "__bool__")
# Ops that read a value on the host or size their output from the data.
SYNC_OPS = frozenset(
    {
        "_local_scalar_dense",  # .item(), int(t), float(t), bool(t)
        "is_nonzero",
        "equal",
        "nonzero",
        "bincount",
        "_unique2",
        "unique_dim",
        "unique_consecutive",
        "masked_select",
        "repeat_interleave",  # with tensor repeats and no output_size
    }
)


class HostSyncs(TorchDispatchMode):
    """A context that counts host syncs by name; `total` is their number."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self._originals: dict[str, Any] = {}
        self._reading = 0  # inside a counted read: its own aten ops are not counted again

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        name = func.overloadpacket.__name__
        counted = name in SYNC_OPS and not self._reading
        if counted and not (name == "repeat_interleave" and _sized(args, kwargs)):
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))

    def __enter__(self) -> HostSyncs:
        for name in READS:
            self._originals[name] = torch.Tensor.__dict__.get(name)  # None: inherited
            setattr(torch.Tensor, name, self._counting(name, getattr(torch.Tensor, name)))
        super().__enter__()
        return self

    def _counting(self, name: str, original: Any) -> Any:
        def read(tensor: torch.Tensor, *args: Any) -> Any:
            if not self._reading:
                self.counts[name] += 1
            self._reading += 1
            try:
                return original(tensor, *args)
            finally:
                self._reading -= 1

        return read

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            if original is None:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, original)
        self._originals.clear()
        super().__exit__(*exc)

    @property
    def total(self) -> int:
        """How many syncs were counted."""
        return sum(self.counts.values())


def _sized(args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> bool:
    """Whether a repeat_interleave call knows its output size (no sync)."""
    repeats = args[1] if len(args) > 1 else (kwargs or {}).get("repeats")
    return not isinstance(repeats, torch.Tensor) or (kwargs or {}).get("output_size") is not None
