"""`maverick-desk ask --attach FILE [--pages] [--password] [--text-layer]` as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.documents.pdf import PdfFile
from app.documents.tiling import ProcessorSettings, tile_grid

CLI = [sys.executable, "-m", "app"]
PASSWORD = "s3cret pässword"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3-page chart PDF, its encrypted twin, and bad files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pypdf
    from matplotlib.backends.backend_pdf import PdfPages

    folder = tmp_path_factory.mktemp("attach")
    paths = {name: folder / f"{name}.pdf" for name in ("doc", "locked", "broken", "empty", "text")}
    with PdfPages(paths["doc"]) as pages:
        for number in range(1, 4):
            fig, ax = plt.subplots(figsize=(11.69, 8.27))  # A4 landscape
            ax.plot([1, 2, 3, 4], [number, 3, 2, 5], marker="o")
            ax.set_title(f"Revenue, page {number}")
            pages.savefig(fig)
            plt.close(fig)
    writer = pypdf.PdfWriter(clone_from=paths["doc"])
    writer.encrypt(PASSWORD, algorithm="RC4-128")
    with open(paths["locked"], "wb") as out:
        writer.write(out)
    paths["broken"].write_bytes(paths["doc"].read_bytes()[:700])
    paths["empty"].write_bytes(b"")
    paths["text"].write_text("just text\n", encoding="utf-8")
    return paths


def test_two_pdf_pages_through_the_worker(demo_bf16: Path, pdfs: dict[str, Path]) -> None:
    result = subprocess.run(
        [*CLI, "ask", "--model", str(demo_bf16), "--attach", str(pdfs["doc"]), "--pages", "1-2",
         "--text-layer", "--temperature", "0", "--max-new-tokens", "4", "Compare the charts."],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    settings = ProcessorSettings.from_checkpoint(demo_bf16)
    with PdfFile(pdfs["doc"]) as pdf:
        grids = [tile_grid(*pdf.render_for_model(n, settings).size, settings) for n in (1, 2)]
    for number, grid in zip((1, 2), grids, strict=True):
        assert f"[doc.pdf, page {number}: " in result.stderr and grid.label() in result.stderr
    done = re.search(r"\[prompt (\d+) tokens \((\d+) image\)", result.stderr)
    context = re.search(r"\[context: (\d+) text \+ ([\d,]+) image tokens", result.stderr)
    assert done and context, result.stderr
    # The worker counts <|patch|> tokens as image tokens; the meter the whole image spans.
    assert int(done.group(2)) == sum(grid.patch_tokens for grid in grids)
    assert int(context.group(2).replace(",", "")) == sum(grid.image_tokens for grid in grids)
    # The meter's figure is the prompt length the worker counted.
    assert int(done.group(1)) == int(context.group(1)) + int(context.group(2).replace(",", ""))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--attach", "{locked}"], "locked.pdf is protected by a password. .* --password PW"),
        (["--attach", "{locked}", "--password", "guess"], "The password for locked.pdf is wrong"),
        (["--attach", "{broken}"], "broken.pdf is damaged or truncated"),
        (["--attach", "{empty}"], r"empty.pdf is empty \(0 bytes\)"),
        (["--attach", "{text}"], "text.pdf is not a PDF: it does not start with %PDF-"),
        (["--attach", "{doc}", "--pages", "0"], '"0": pages count from 1'),
        (["--attach", "{doc}", "--pages", "3-2"], '"3-2" runs backwards'),
        (["--attach", "{doc}", "--pages", "x"], '"x" is not a page or a range'),
        (["--attach", "{doc}", "--pages", "2-4"], "has 3 pages, so there is no page 4"),
        (["--attach", "{doc}", "--max-images", "1", "--pages", "1-2"], "2 images in one request"),
    ],
)
def test_bad_attachments_fail_before_loading(
    pdfs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    argv = ["ask", "--model", "/nonexistent/model", *[a.format(**pdfs) for a in extra], "Hi"]
    assert main(argv) == 2
    assert re.search(message, capsys.readouterr().err)


def test_pages_and_password_follow_an_attach(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ask", "--pages", "1", "Hi"])
    assert "--pages must follow the --attach FILE" in capsys.readouterr().err


def test_right_password_is_accepted_before_loading(
    pdfs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # The plan passes; the missing model is the first thing that fails.
    argv = ["ask", "--model", "/nonexistent/model", "--attach", str(pdfs["locked"]),
            "--password", PASSWORD, "--pages", "2", "Hi"]  # fmt: skip
    assert main(argv) == 1
    assert "/nonexistent/model does not exist" in capsys.readouterr().err
