"""Files that carry a format version: one rule and one sentence for a newer app's files.

Such a file is read for nothing and never altered (written atomically, as everything
storage writes: `app.storage.atomic`).
"""

from __future__ import annotations

from pathlib import Path


def is_newer(raw: object, supported: int) -> bool:
    """Whether `raw`, a format version as read back, is one this app cannot read.

    Absent (None) is the oldest version. A version that is not a whole number counts as
    newer: the file is left alone too, rather than rewritten in a format it may not have.
    """
    if raw is None:
        return False
    try:
        return int(str(raw)) > supported
    except ValueError:
        return True


def newer_version_sentence(path: Path | str, version: object, supported: int, what: str) -> str:
    """The one wording for a file (or record) from a newer Maverick Desk.

    E.g. "…/settings.ini was written by a newer version of Maverick Desk (settings
    format 3; this version reads up to 1). It was left untouched; …".
    """
    return (
        f"{path} was written by a newer version of Maverick Desk ({what} {version}; this "
        f"version reads up to {supported}). It was left untouched; update Maverick Desk to "
        "use it."
    )
