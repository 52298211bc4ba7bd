"""Files the document tests draw themselves: charts, PDFs (multi-page, encrypted, broken)."""

from __future__ import annotations

from pathlib import Path

import pytest

PASSWORD = "s3cret pässword"


def _bar_chart(title: str, values: list[float]) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.27, 11.69))  # A4 portrait, in inches
    ax.bar(["North", "South", "East", "West"], values, color="#3465a4")
    ax.set_title(title)
    ax.set_ylabel("Sales (k€)")
    return fig


@pytest.fixture(scope="session")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Charts as PNG and PDF, a 7-page PDF, an encrypted PDF and bad files."""
    import matplotlib.pyplot as plt
    import pypdf
    from matplotlib.backends.backend_pdf import PdfPages

    folder = tmp_path_factory.mktemp("docs")
    paths = {
        "chart_png": folder / "chart.png",
        "chart_pdf": folder / "chart.pdf",
        "multi": folder / "report.pdf",
        "encrypted": folder / "locked.pdf",
        "broken": folder / "broken.pdf",
        "empty": folder / "empty.pdf",
        "text": folder / "notes.pdf",
    }
    fig = _bar_chart("Quarterly sales", [12, 7, 9, 15])
    fig.savefig(paths["chart_png"], dpi=60)  # type: ignore[attr-defined]
    fig.savefig(paths["chart_pdf"])  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    with PdfPages(paths["multi"]) as pages:
        for number in range(1, 8):
            fig = _bar_chart(f"Page {number} sales", [number, 2, 3, 4])
            pages.savefig(fig)
            plt.close(fig)  # type: ignore[arg-type]
    writer = pypdf.PdfWriter(clone_from=paths["multi"])
    writer.encrypt(PASSWORD, algorithm="RC4-128")  # AES would need the cryptography package
    with open(paths["encrypted"], "wb") as out:
        writer.write(out)
    paths["broken"].write_bytes(paths["multi"].read_bytes()[:600])
    paths["empty"].write_bytes(b"")
    paths["text"].write_text("Meeting notes, not a PDF at all.\n", encoding="utf-8")
    return paths
