"""The bad files of issue 9, written once per test session."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PASSWORD = "open sesame"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bomb(path: Path, side: int = 30_000) -> None:
    """A valid 1-bit PNG of side × side pixels: ~110 kB on disk, 900 megapixels decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    body = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000))
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def write_pdf(path: Path, pages: int) -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(595, 842).close()
    doc.save(path)
    doc.close()


def write_bad_files(folder: Path) -> dict[str, Path]:
    """Every bad input of the issue that is a file, by name."""
    import pypdf
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / file for name, file in FILES.items()}
    good = Image.new("RGB", (640, 480), (40, 120, 200))
    ImageDraw.Draw(good).ellipse((100, 100, 400, 380), fill=(250, 200, 0))
    good.save(paths["good_png"])
    good.save(paths["good_jpg"], quality=90)
    paths["zero_png"].write_bytes(b"")
    paths["truncated_png"].write_bytes(paths["good_png"].read_bytes()[:300])
    noise = Image.effect_noise((400, 400), 60).convert("RGB")
    noise.save(paths["truncated_jpg"], quality=90)
    paths["truncated_jpg"].write_bytes(paths["truncated_jpg"].read_bytes()[:2000])
    paths["text_png"].write_text("shopping list: eggs, milk\n", encoding="utf-8")
    write_bomb(paths["bomb_png"])
    write_pdf(paths["pages_1000"], 1000)
    write_pdf(paths["small_pdf"], 3)
    writer = pypdf.PdfWriter(clone_from=paths["small_pdf"])
    writer.encrypt(PASSWORD, algorithm="RC4-128")
    with paths["encrypted_pdf"].open("wb") as out:
        writer.write(out)
    # The cross-reference table points nowhere: every offset and startxref are wrong.
    data = paths["small_pdf"].read_bytes()
    start = data.rindex(b"startxref")
    table = data.rindex(b"xref", 0, start)
    broken = data[:table] + data[table:start].replace(b" 00000 n", b" 00000 x")
    broken = broken.replace(b"0000000", b"9999999") + b"startxref\n999999999\n%%EOF\n"
    paths["broken_xref_pdf"].write_bytes(broken)
    for name in ("loop_png", "loop_pdf"):
        paths[name].unlink(missing_ok=True)
        twin = paths[name].with_name("twin-" + paths[name].name)
        twin.unlink(missing_ok=True)
        paths[name].symlink_to(twin.name)
        twin.symlink_to(paths[name].name)
    return paths


FILES = {
    "good_png": "good.png",
    "good_jpg": "good.jpg",
    "zero_png": "zero.png",
    "truncated_png": "truncated.png",
    "truncated_jpg": "truncated.jpg",
    "text_png": "shopping-list.png",
    "bomb_png": "bomb-30000x30000.png",
    "pages_1000": "thousand-pages.pdf",
    "small_pdf": "three-pages.pdf",
    "encrypted_pdf": "locked.pdf",
    "broken_xref_pdf": "broken-xref.pdf",
    "loop_png": "loop.png",
    "loop_pdf": "loop.pdf",
}
# What each bad file must be answered with (a regular expression), wherever it enters.
BAD_IMAGES = {
    "zero_png": r"zero\.png is empty \(0 bytes\)",
    "truncated_png": r"truncated\.png .*(damaged|truncated)",
    "truncated_jpg": r"truncated\.jpg .*(damaged|truncated)",
    "text_png": r"shopping-list\.png .*not an image",
    "bomb_png": r"bomb-30000x30000\.png has far more than the 80 megapixels",
    "loop_png": r"loop\.png is a symbolic link that leads nowhere",
}
TEXTS = {
    "long": "word " * 40_000,  # 200,000 characters
    "mixed": "שלום \u200f(RTL mark) مرحبا 👩‍👩‍👧 🇺🇦 e\u0301 NUL:\x00:end \u202eevil\u202c",
}
