"""Which expert path the worker runs, from ``MAVERICK_DESK_EXPERTS``; torch-free for the CLI.

'sparse' (the default) runs each token through only the routed expert its router
chose (`app.inference.sparse_experts`), as one grouped matmul per projection where
the layer passes its self-check (`app.inference.grouped_experts`); 'loop' keeps
the per-expert loop of issue 16 (a host sync and a launch group per expert), for
comparison and as an escape hatch; 'dense' keeps transformers' own path, which
computes every routed expert for every token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

EXPERTS_ENV = "MAVERICK_DESK_EXPERTS"
MODES = ("sparse", "loop", "dense")
DENSE_LABEL = "dense (transformers)"


class ExpertsModeError(ValueError):
    """The environment asks for an experts mode the app does not have."""


def experts_mode(environ: Mapping[str, str] | None = None) -> str:
    """'sparse' (the default), 'loop' or 'dense', from ``MAVERICK_DESK_EXPERTS``."""
    env = os.environ if environ is None else environ
    value = env.get(EXPERTS_ENV, "").strip().lower() or "sparse"
    if value not in MODES:
        raise ExpertsModeError(
            f"{EXPERTS_ENV}={env.get(EXPERTS_ENV)!r} is not a mode the app knows: "
            "use 'sparse' (the default, only the routed expert runs), 'loop' (the same, "
            "one expert at a time) or 'dense' (transformers' own path, every expert runs)."
        )
    return value


def describe_mode(mode: str) -> str:
    """What `maverick-desk info` says about the mode before anything is loaded."""
    if mode == "dense":
        return f"{DENSE_LABEL}: every routed expert runs for every token ({EXPERTS_ENV}=dense)"
    if mode == "loop":
        return f"sparse, one expert at a time: only the routed expert runs ({EXPERTS_ENV}=loop)"
    return (
        "sparse: only the routed expert runs per token, one grouped matmul per projection "
        f"({EXPERTS_ENV}=loop: one expert at a time; dense: the stock path)"
    )


def dense_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``MAVERICK_DESK_EXPERTS`` asks for the dense path (what the preflight plans for).

    An unknown value counts as sparse here; loading refuses it with `ExpertsModeError`.
    """
    env = os.environ if environ is None else environ
    return env.get(EXPERTS_ENV, "").strip().lower() == "dense"
