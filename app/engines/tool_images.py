"""The images tools returned, each written to a file once.

The tool loop sends every earlier tool image again with each model step, and the window
keeps the same images with the answer's record (the store copies them in by hash when the
answer is saved). One `ToolImageFiles` per answer gives both the same file: an image is
written the first time it is asked for, as PNG or JPEG (other types converted to PNG, so
the store and both engines can read it), and its path is remembered.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from pathlib import Path

from app.tools.results import ToolImage

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg"}
_numbers = itertools.count(1)  # names unique in the process: answers share a folder


class ToolImageFiles:
    """Paths of tool images in `folder`; safe to use from the loop's and the GUI's thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._paths: dict[ToolImage, str] = {}
        self._lock = threading.Lock()

    def paths(self, images: Sequence[ToolImage]) -> list[str]:
        """The file of each image, written now if it was not yet."""
        with self._lock:
            return [self._path(image) for image in images]

    def _path(self, image: ToolImage) -> str:
        known = self._paths.get(image)
        if known is not None:
            return known
        self.folder.mkdir(parents=True, exist_ok=True)
        extension = _EXTENSIONS.get(image.mime_type, ".png")
        path = self.folder / f"tool-image-{next(_numbers)}{extension}"
        if image.mime_type in _EXTENSIONS:
            path.write_bytes(image.data)
        else:
            _convert_to_png(image.data, path)
        self._paths[image] = str(path)
        return str(path)


def _convert_to_png(data: bytes, path: Path) -> None:
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        # Images past the pixel limit were left out with a sentence (`from_mcp_content`);
        # PIL's warning, with its library path, must not reach the terminal regardless.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                picture.save(path, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        path.write_bytes(data)  # the thumbnail says it cannot be shown; the model is told
