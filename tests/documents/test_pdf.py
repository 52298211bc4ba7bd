"""PDFs: page count, thumbnails, renders sized for the tiles, text, and every bad file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from app.documents.pdf import PdfError, PdfFile, PdfPasswordError
from app.documents.tiling import MAVERICK, ProcessorSettings, tile_grid

from .conftest import PASSWORD


def test_pages_thumbnails_and_text(docs: dict[str, Path]) -> None:
    with PdfFile(docs["multi"]) as pdf:
        assert pdf.page_count == 7
        width, height = pdf.page_size(3)
        assert (round(width), round(height)) == (595, 842)
        thumb = pdf.thumbnail(3, max_side=160)
        assert thumb.height == 160 and thumb.mode == "RGB"
        assert thumb.getpixel((0, 0)) == (255, 255, 255)  # white paper, not transparent black
        assert "Page 3 sales" in pdf.text(3)
        assert "North" in pdf.text(3)


def test_render_for_model_fills_the_tiles(docs: dict[str, Path]) -> None:
    demo = ProcessorSettings(tile_size=112)
    with PdfFile(docs["chart_pdf"]) as pdf:
        for settings in (MAVERICK, demo):
            image = pdf.render_for_model(1, settings)
            grid = tile_grid(*image.size, settings)
            assert (grid.rows, grid.cols) == (5, 3)
            assert image.width == 3 * settings.tile_size
        # The bars are drawn: some pixels are the chart's blue.
        colours = pdf.render_for_model(1).getcolors(maxcolors=1 << 20) or []
        assert any(abs(r - 0x34) < 20 and abs(b - 0xA4) < 20 for _, (r, _g, b) in colours)


def test_thumbnails_stop_between_pages(docs: dict[str, Path]) -> None:
    seen: list[int] = []
    with PdfFile(docs["multi"]) as pdf:
        for number, image in pdf.thumbnails(range(1, 8), 64, should_stop=lambda: len(seen) == 3):
            seen.append(number)
            assert max(image.size) == 64
    assert seen == [1, 2, 3]


def test_page_out_of_range(docs: dict[str, Path]) -> None:
    with (
        PdfFile(docs["multi"]) as pdf,
        pytest.raises(PdfError, match="has 7 pages; there is no page 8"),
    ):
        pdf.thumbnail(8)


def test_500_pages_open_fast_and_render_from_two_threads(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    doc = pdfium.PdfDocument.new()
    for _ in range(500):
        doc.new_page(595, 842).close()
    doc.save(path)
    doc.close()
    started = time.perf_counter()
    with PdfFile(path) as pdf:
        assert pdf.page_count == 500
        pdf.thumbnail(250)
        opened = time.perf_counter() - started
        assert opened < 1.0, f"opening a 500-page PDF took {opened:.2f} s"
        errors: list[BaseException] = []

        def draw(pages: range) -> None:
            try:
                for _number, image in pdf.thumbnails(pages, 48):
                    assert image.size[1] == 48
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=draw, args=(range(s, 501, 2),)) for s in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors


def test_encrypted_pdf(docs: dict[str, Path]) -> None:
    with pytest.raises(PdfPasswordError, match="is protected by a password") as missing:
        PdfFile(docs["encrypted"])
    assert not missing.value.wrong_password
    with pytest.raises(PdfPasswordError, match="The password for locked.pdf is wrong") as wrong:
        PdfFile(docs["encrypted"], password="guess")
    assert wrong.value.wrong_password
    with PdfFile(docs["encrypted"], password=PASSWORD) as pdf:
        assert pdf.page_count == 7
        assert "Page 2 sales" in pdf.text(2)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("broken", "broken.pdf is damaged or truncated"),
        ("empty", r"empty.pdf is empty \(0 bytes\), so it is not a PDF"),
        ("text", "notes.pdf is not a PDF: it does not start with %PDF-"),
    ],
)
def test_bad_files(docs: dict[str, Path], key: str, message: str) -> None:
    with pytest.raises(PdfError, match=message):
        PdfFile(docs[key])


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(PdfError, match="does not exist"):
        PdfFile(tmp_path / "gone.pdf")
    with pytest.raises(PdfError, match="is a folder"):
        PdfFile(tmp_path)
