"""Image URLs of a request turned into files the worker can open.

``data:image/...;base64,`` URLs are decoded into the request's own temporary folder.
``http(s)://`` URLs are fetched only when the user turned that on, with a size and a
time limit and no redirects. ``file:`` URLs and local paths are always refused: a
client of the API must never make the server read the files of the machine it runs on.
The worker checks the files again (format, size, pixels) as for any attachment.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from app.local_api.errors import ApiError, bad_request

MIB = 1024 * 1024
_SUFFIXES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
}


@dataclass(frozen=True)
class ImagePolicy:
    """Where images may come from and how large they may be."""

    max_image_bytes: int = 20 * MIB
    fetch_http: bool = False
    fetch_timeout_s: float = 10.0


async def resolve_images(
    urls: list[str], folder: Path, policy: ImagePolicy, first: int = 0
) -> list[str]:
    """Write every image into `folder` (numbered from `first`); return their paths, in order.

    Raises `ApiError`.
    """
    paths = []
    for index, url in enumerate(urls, start=first):
        data, suffix = await _image_bytes(url, policy)
        path = folder / f"image-{index + 1}{suffix}"  # the first image of the request is 1
        path.write_bytes(data)
        paths.append(str(path))
    return paths


async def _image_bytes(url: str, policy: ImagePolicy) -> tuple[bytes, str]:
    scheme = url.split(":", 1)[0].lower() if ":" in url[:12] else ""
    if scheme == "data":
        return _decode_data_url(url, policy)
    if scheme in {"http", "https"}:
        if not policy.fetch_http:
            raise bad_request(
                "Fetching http(s) image URLs is turned off on this server; send the image as "
                "a data: URL (base64), or start the server with --allow-image-urls.",
                "image_url",
                code="image_url_refused",
            )
        return await _fetch(url, policy)
    raise bad_request(
        "Only data: image URLs are accepted (file: URLs and local paths are always refused: "
        "the server does not read files from its own disk). Send the image as a data: URL.",
        "image_url",
        code="image_url_refused",
    )


def _decode_data_url(url: str, policy: ImagePolicy) -> tuple[bytes, str]:
    header, sep, payload = url.partition(",")
    params = header[len("data:") :].lower().split(";")
    mime = params[0]
    if not sep or "base64" not in params[1:]:
        raise bad_request(
            "An image data: URL must be base64, e.g. data:image/png;base64,….", "image_url"
        )
    suffix = _SUFFIXES.get(mime)
    if suffix is None:
        raise bad_request(
            f"Images of type {mime or 'unknown'!r:.40} are not accepted; send PNG, JPEG, WebP, "
            "GIF, BMP or TIFF.",
            "image_url",
        )
    # Decoded size is 3/4 of the base64 length: refuse before decoding a huge one.
    if len(payload) * 3 // 4 > policy.max_image_bytes:
        raise _too_large(len(payload) * 3 // 4, policy)
    try:
        return base64.b64decode(payload, validate=True), suffix
    except (binascii.Error, ValueError) as exc:
        raise bad_request(f"An image data: URL is not valid base64 ({exc}).", "image_url") from exc


async def _fetch(url: str, policy: ImagePolicy) -> tuple[bytes, str]:
    import httpx2  # the HTTP client the openai package brings; loaded only when fetching

    try:
        async with asyncio.timeout(policy.fetch_timeout_s):
            async with (
                httpx2.AsyncClient(follow_redirects=False, timeout=policy.fetch_timeout_s) as http,
                http.stream("GET", url) as reply,
            ):
                if reply.status_code != 200:
                    raise bad_request(
                        f"Fetching the image at {url:.200} answered HTTP {reply.status_code}.",
                        "image_url",
                    )
                length = reply.headers.get("content-length", "")
                if length.isdigit() and int(length) > policy.max_image_bytes:
                    raise _too_large(int(length), policy)
                mime = reply.headers.get("content-type", "").split(";")[0].strip().lower()
                suffix = _SUFFIXES.get(mime, ".img")
                data = bytearray()
                async for chunk in reply.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > policy.max_image_bytes:
                        raise _too_large(len(data), policy)
                return bytes(data), suffix
    except TimeoutError as exc:
        raise bad_request(
            f"Fetching the image at {url:.200} took longer than {policy.fetch_timeout_s:g} s.",
            "image_url",
        ) from exc
    except httpx2.HTTPError as exc:
        raise bad_request(f"Fetching the image at {url:.200} failed: {exc}.", "image_url") from exc


def _too_large(size: int, policy: ImagePolicy) -> ApiError:
    return ApiError(
        413,
        f"An image is over {policy.max_image_bytes / MIB:.3g} MiB ({size / MIB:.3g} MiB); "
        "send a smaller one.",
        param="image_url",
        code="image_too_large",
    )
