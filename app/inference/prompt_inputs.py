"""Turning a conversation into token ids, running the image processor only where needed.

`Llama4Processor` expands each ``<|image|>`` of the chat template's text into the
image's tiles of patch tokens, which it can only do after processing the image. An
image a kept KV cache already covers needs no pixels, only its token text: that is
remembered per image (by a digest of its file) and spliced in here, so the prompt's
ids come out exactly as the processor would make them (a test holds the two equal),
and only the images after the cached prefix go through the image processor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from app.inference.images import MAX_FILE_BYTES, ImageError, open_image
from app.inference.prompt_cache import ImageSpan
from app.inference.user_files import check_user_file


@dataclass
class ProcessedImage:
    """An image through the image processor: its tiles and its token text."""

    pixel_values: torch.Tensor
    expansion: str


def file_digest(path: str) -> str:
    """A digest of an image file's bytes: the same file content, the same digest."""
    check_user_file(Path(path), noun="an image", max_bytes=MAX_FILE_BYTES, error=ImageError)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ImageError(f"{Path(path).name} cannot be read: {exc}.") from exc
    return digest.hexdigest()


class PromptBuilder:
    """Chat template, image token text and tokenizer, as `Llama4Processor` does them."""

    def __init__(self, processor: Any) -> None:
        self._processor = processor
        self._tokenizer = processor.tokenizer
        self.image_placeholder: str = processor.fake_image_token
        tokens = self._tokenizer.convert_tokens_to_ids
        self._start_id = int(tokens(processor.start_of_img_token))
        self._end_id = int(tokens(processor.end_of_img_token))

    def process(self, path: str) -> ProcessedImage:
        """Decode an image and run the image processor on it."""
        processor = self._processor
        out = processor.image_processor(images=[open_image(path)], return_tensors="pt")
        pixel_values = out["pixel_values"]
        height, width = pixel_values.shape[-2:]
        per_tile = int(
            (height // processor.patch_size)
            * (width // processor.patch_size)
            // processor.downsample_ratio
        )
        expansion = processor._prompt_split_image(out["aspect_ratios"][0], per_tile)
        return ProcessedImage(pixel_values, str(expansion))

    def ids(self, template_text: str, expansions: Sequence[str]) -> list[int]:
        """The prompt's ids: the template's text with each image placeholder expanded."""
        parts = template_text.split(self.image_placeholder)
        if len(parts) != len(expansions) + 1:
            raise ValueError(
                f"The conversation's text holds {len(parts) - 1 - len(expansions)} more "
                f"{self.image_placeholder} markers than it has images; remove them from the text."
            )
        pieces = [parts[0]]
        for expansion, part in zip(expansions, parts[1:], strict=True):
            pieces += [expansion, part]
        encoded = self._tokenizer("".join(pieces), add_special_tokens=False)
        return [int(i) for i in encoded["input_ids"]]

    def spans(self, ids: Sequence[int], digests: Sequence[str]) -> list[ImageSpan]:
        """Where each image's tokens lie, from its start marker to its end marker."""
        starts = [i for i, token in enumerate(ids) if token == self._start_id]
        ends = [i + 1 for i, token in enumerate(ids) if token == self._end_id]
        if not len(starts) == len(ends) == len(digests):
            raise ValueError(
                f"The prompt has {len(starts)} image markers for {len(digests)} images; "
                "remove image markers from the text."
            )
        return [
            ImageSpan(start, end, digest)
            for start, end, digest in zip(starts, ends, digests, strict=True)
        ]
