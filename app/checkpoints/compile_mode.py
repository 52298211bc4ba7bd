"""Whether the worker compiles its decode step, from ``MAVERICK_DESK_COMPILE``; torch-free.

'decode' compiles one decoded token's forward with `torch.compile(fullgraph=True)` over
a static KV cache (`app.inference.compiled_decode`); 'off' keeps transformers'
`generate` with its growing cache. Unset, the worker compiles and keeps the compiled
step only if it passes its self-check at load (the same greedy tokens as `generate`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

COMPILE_ENV = "MAVERICK_DESK_COMPILE"
MODES = ("decode", "off")
EAGER_LABEL = "eager (transformers generate)"


class CompileModeError(ValueError):
    """The environment asks for a compile mode the app does not have."""


def compile_mode(environ: Mapping[str, str] | None = None) -> str | None:
    """'decode', 'off', or None when unset (the default: 'decode' if its self-check passes)."""
    env = os.environ if environ is None else environ
    raw = env.get(COMPILE_ENV, "")
    value = raw.strip().lower()
    if not value:
        return None
    if value not in MODES:
        raise CompileModeError(
            f"{COMPILE_ENV}={raw!r} is not a mode the app knows: use 'decode' (a compiled "
            "decode step over a static KV cache) or 'off' (transformers' generate, uncompiled); "
            "unset, the compiled step runs where it passes its self-check at load."
        )
    return value


def describe_compile(mode: str | None) -> str:
    """What `maverick-desk info` says about the setting before anything is loaded."""
    if mode == "off":
        return f"{EAGER_LABEL} ({COMPILE_ENV}=off)"
    if mode == "decode":
        return f"compiled decode step, static KV cache ({COMPILE_ENV}=decode)"
    return (
        "compiled decode step where it passes its self-check at load, else "
        f"{EAGER_LABEL} ({COMPILE_ENV}=off|decode)"
    )
