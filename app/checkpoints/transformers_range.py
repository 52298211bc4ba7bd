"""The transformers releases the local engine runs on, and the sentence for any other.

Torch-free and transformers-free: the worker checks the installed version (from the
package metadata) before it imports either, so a machine with the wrong release hears
which one to install instead of meeting a TypeError halfway through a request.

The bounds are pyproject.toml's (a test checks they agree), and docs/pythons.md says
where each comes from: 5.23 is the only release the whole inference and worker suite
passes on (5.17 lacks `mm_encoder_outputs`, and its sliding-window cache layer hands the
attention every key it recorded while the mask is sized to the window; 5.18-5.22
dequantise compressed-tensors FP8 experts into other weights than the bf16 twin's);
5.24.0 breaks every `Llama4ForConditionalGeneration` forward. When the floor is below the
release `.venv` has, CI runs the tests on the floor too (`scripts/run-floor-tests.sh`).
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.version import InvalidVersion, Version

TRANSFORMERS_FLOOR = "5.23.0"  # the lowest release allowed, and the one CI also tests
TRANSFORMERS_CEILING = "5.24"  # the first release not allowed
TRANSFORMERS_NEWEST = "5.23.0"  # the newest release allowed: the one to install


def installed_transformers() -> str | None:
    """The installed transformers version, from its metadata (nothing is imported)."""
    try:
        return metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return None


def transformers_problem(version: str | None) -> str | None:
    """None if `version` is one the engine runs on, else one sentence naming what to install."""
    install = f"{sys.executable} -m pip install 'transformers=={TRANSFORMERS_NEWEST}'"
    if version is None:
        return (
            f"transformers is not installed in {sys.prefix}; the local engine needs "
            f"transformers {TRANSFORMERS_NEWEST}: {install}"
        )
    try:
        parsed = Version(version)
    except InvalidVersion:
        parsed = None
    if parsed is not None and Version(TRANSFORMERS_FLOOR) <= parsed < Version(TRANSFORMERS_CEILING):
        return None
    return (
        f"This environment has transformers {version}, which the local engine does not run on "
        f"(it needs {TRANSFORMERS_FLOOR} or newer and older than {TRANSFORMERS_CEILING}); "
        f"install transformers {TRANSFORMERS_NEWEST}: {install}"
    )
