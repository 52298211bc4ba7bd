"""Planning attachments (pages, passwords, the image limit) and preparing them for the model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from app.documents.attachments import (
    AttachmentError,
    AttachmentRequest,
    compose_prompt,
    plan_attachments,
    prepare_attachment,
)
from app.documents.page_cache import cache_dir, prune_cache
from app.documents.tiling import ProcessorSettings

from .conftest import PASSWORD

DEMO = ProcessorSettings(tile_size=112)


def test_default_pages_fit_the_image_limit(docs: dict[str, Path]) -> None:
    plans = plan_attachments(
        [AttachmentRequest(docs["chart_png"]), AttachmentRequest(docs["multi"])], image_limit=5
    )
    assert plans[0].kind == "image" and plans[0].image_count == 1
    assert plans[1].page_numbers == (1, 2, 3, 4) and plans[1].page_count == 7
    assert "report.pdf has 7 pages; sending pages 1-4" in plans[1].notices[0]


def test_named_pages_and_the_limit(docs: dict[str, Path]) -> None:
    (plan,) = plan_attachments([AttachmentRequest(docs["multi"], "2,6-7")])
    assert plan.page_numbers == (2, 6, 7) and plan.notices == ()
    with pytest.raises(AttachmentError, match="6 images in one request; the limit is 5"):
        plan_attachments([AttachmentRequest(docs["multi"], "1-6")])
    with pytest.raises(AttachmentError, match='report.pdf: "9": the document has 7 pages'):
        plan_attachments([AttachmentRequest(docs["multi"], "9")])
    with pytest.raises(AttachmentError, match="chart.png is an image; pages can only be picked"):
        plan_attachments([AttachmentRequest(docs["chart_png"], "1")])


def test_no_room_left(docs: dict[str, Path]) -> None:
    with pytest.raises(AttachmentError, match="No room for report.pdf"):
        plan_attachments(
            [AttachmentRequest(docs["multi"], "1-2"), AttachmentRequest(docs["multi"])],
            image_limit=2,
        )


def test_password_flow(docs: dict[str, Path]) -> None:
    with pytest.raises(AttachmentError, match="protected by a password") as missing:
        plan_attachments([AttachmentRequest(docs["encrypted"])])
    assert missing.value.password_wanted
    with pytest.raises(AttachmentError, match="password for locked.pdf is wrong") as wrong:
        plan_attachments([AttachmentRequest(docs["encrypted"], password="nope")])
    assert wrong.value.password_wanted
    (plan,) = plan_attachments([AttachmentRequest(docs["encrypted"], "3", PASSWORD)])
    prepared = prepare_attachment(plan, DEMO, text_layer=True)
    assert prepared is not None
    assert "Page 3 sales" in prepared.text


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("broken", "damaged or truncated"),
        ("empty", r"empty \(0 bytes\)"),
        ("text", "is not a PDF: it does not start with %PDF-"),
    ],
)
def test_bad_files(docs: dict[str, Path], key: str, message: str) -> None:
    with pytest.raises(AttachmentError, match=message) as error:
        plan_attachments([AttachmentRequest(docs[key])])
    assert not error.value.password_wanted


def test_truncated_image(tmp_path: Path, docs: dict[str, Path]) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(docs["chart_png"].read_bytes()[:300])
    with pytest.raises(AttachmentError, match="cut.png is damaged or truncated"):
        plan_attachments([AttachmentRequest(path)])


def test_prepare_draws_pages_once_and_costs_them(docs: dict[str, Path]) -> None:
    (plan,) = plan_attachments([AttachmentRequest(docs["multi"], "1-2")])
    prepared = prepare_attachment(plan, DEMO, text_layer=True)
    assert prepared is not None
    assert [image.label for image in prepared.images] == [
        "report.pdf, page 1",
        "report.pdf, page 2",
    ]
    first = prepared.images[0]
    assert first.path.parent == cache_dir() and first.path.suffix == ".png"
    with Image.open(first.path) as drawn:
        assert drawn.size == (first.width, first.height) == (336, 474)
    assert (first.grid.rows, first.grid.cols) == (5, 3)
    assert prepared.image_tokens == 2 * (17 * 15 + 19)
    assert prepared.patch_tokens == 2 * 16 * 16
    assert "[Text layer of report.pdf, page 2]\n" in prepared.text
    prompt = compose_prompt("Compare the pages.", [prepared])
    assert prompt.startswith("[Text layer of report.pdf, page 1]")
    assert prompt.endswith("\n\nCompare the pages.")
    # Drawn again: the cached files are reused, not rewritten.
    stamp = first.path.stat().st_mtime_ns
    os.utime(first.path, ns=(stamp - 10**9, stamp - 10**9))
    before = first.path.stat().st_ino
    again = prepare_attachment(plan, DEMO)
    assert again is not None and again.images[0].path == first.path
    assert first.path.stat().st_ino == before
    assert first.path.stat().st_mtime_ns > stamp - 10**9  # touched as recently used


def test_prepare_stops_between_pages(docs: dict[str, Path]) -> None:
    (plan,) = plan_attachments([AttachmentRequest(docs["multi"], "1-3")])
    calls: list[int] = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 1

    assert prepare_attachment(plan, DEMO, should_stop=should_stop) is None
    assert len(list(cache_dir().glob("*.png"))) == 1


def test_image_attachment_cost(docs: dict[str, Path]) -> None:
    (plan,) = plan_attachments([AttachmentRequest(docs["chart_png"])])
    prepared = prepare_attachment(plan, DEMO)
    assert prepared is not None
    (image,) = prepared.images
    assert image.path == docs["chart_png"] and (image.width, image.height) == (496, 701)
    assert image.grid.image_tokens == prepared.image_tokens > 0


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for age, name in enumerate(["v1-new.png", "v1-mid.png", "v1-old.png"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age * 10, 1_000_000 - age * 10))
    assert prune_cache(tmp_path, limit_bytes=250) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1-mid.png", "v1-new.png"]
