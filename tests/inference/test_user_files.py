"""The one check every user file passes, with the limits of its kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.documents.pdf import PdfError, PdfFile
from app.inference.images import ImageError, image_facts
from app.inference.user_files import check_user_file


class _Refused(ValueError):
    pass


def test_returns_the_size_of_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 10)
    assert check_user_file(path, noun="a thing", max_bytes=10, error=_Refused) == 10


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "does not exist"),
        ("folder", "is a folder, not a thing"),
        ("empty", "is empty (0 bytes), so it is not a thing"),
        ("large", "thing files up to 0 MiB are accepted. Cut it."),
    ],
)
def test_each_problem_gets_its_sentence(tmp_path: Path, setup: str, expected: str) -> None:
    path = tmp_path / "f.bin"
    if setup == "folder":
        path.mkdir()
    elif setup == "empty":
        path.write_bytes(b"")
    elif setup == "large":
        path.write_bytes(b"x" * 20)
    with pytest.raises(_Refused, match="f.bin") as caught:
        check_user_file(
            path, noun="a thing", max_bytes=10, error=_Refused, too_large_hint="Cut it."
        )
    assert expected in str(caught.value)


def test_images_and_pdfs_share_it_with_their_own_nouns(tmp_path: Path) -> None:
    folder = tmp_path / "scan.pdf"
    folder.mkdir()
    with pytest.raises(PdfError, match="is a folder, not a PDF"):
        PdfFile(folder)
    with pytest.raises(ImageError, match="is a folder, not an image"):
        image_facts(folder)
