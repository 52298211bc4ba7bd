"""Long PDFs the document tests write themselves: text pages, scanned pages, known facts.

Written as raw PDF (Helvetica text, Flate-compressed images) so that a 300-page file
takes milliseconds; PDFium reads its text layer like any other PDF's.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

WORDS = [
    "system",
    "module",
    "report",
    "figure",
    "quarter",
    "revenue",
    "engine",
    "valve",
    "sensor",
    "network",
    "schedule",
    "budget",
    "review",
    "customer",
    "service",
    "supply",
    "chain",
    "process",
    "design",
    "test",
    "method",
    "result",
    "analysis",
    "storage",
    "window",
    "battery",
    "cable",
    "pressure",
    "flow",
    "signal",
    "software",
    "hardware",
    "policy",
    "region",
    "market",
    "growth",
    "cost",
    "plan",
    "team",
    "project",
    "risk",
    "audit",
    "contract",
    "vendor",
    "delivery",
]
CITIES = [
    "Lisbon",
    "Oslo",
    "Krakow",
    "Tallinn",
    "Seville",
    "Utrecht",
    "Bergen",
    "Ghent",
    "Turku",
    "Brno",
    "Split",
    "Aarhus",
    "Porto",
    "Graz",
    "Riga",
    "Vilnius",
    "Malmo",
    "Lyon",
    "Bilbao",
    "Genoa",
    "Zadar",
    "Kosice",
    "Tartu",
    "Ljubljana",
    "Bruges",
]
THINGS = [
    "turbine",
    "ledger",
    "compressor",
    "greenhouse",
    "satellite",
    "bakery",
    "lighthouse",
    "foundry",
    "vineyard",
    "observatory",
    "tramway",
    "refinery",
    "harbour",
    "glacier",
    "orchard",
    "library",
    "brewery",
    "quarry",
    "aqueduct",
    "monastery",
    "dockyard",
    "sawmill",
    "planetarium",
    "funicular",
    "windmill",
]


def filler(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def make_facts(count: int, pages: int, seed: int = 7) -> list[tuple[int, str, str, str]]:
    """(page, fact sentence, question, answer) with unique cities and things."""
    rng = random.Random(seed)
    chosen_pages = rng.sample(range(1, pages + 1), count)
    facts = []
    for i, page in enumerate(chosen_pages):
        city = CITIES[i % len(CITIES)]
        # (city, thing) never repeats: the next round of cities shifts the things by one
        thing = THINGS[(i * 7 + i // len(CITIES)) % len(THINGS)]
        code = f"{rng.randint(1000, 9999)}"
        sentence = f"The {thing} in {city} has the inspection code {code}."
        question = f"What is the inspection code of the {thing} in {city}?"
        facts.append((page, sentence, question, code))
    return facts


def write_pdf(path: Path, pages: list[list[str] | Image.Image]) -> Path:
    """A PDF whose pages hold lines of text, or one image each (a scan: no text layer)."""
    objects: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for page in pages:
        resources = "/Font << /F1 3 0 R >>"
        if isinstance(page, Image.Image):
            rgb = page.convert("RGB")
            data = zlib.compress(rgb.tobytes())
            objects.append(
                f"<< /Type /XObject /Subtype /Image /Width {rgb.width} /Height {rgb.height} "
                f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode "
                f"/Length {len(data)} >>\nstream\n".encode()
                + data
                + b"\nendstream"
            )
            resources += f" /XObject << /Im1 {len(objects)} 0 R >>"
            content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
        else:
            lines = []
            for i, line in enumerate(page):
                safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                lines.append(f"BT /F1 10 Tf 40 {800 - 14 * i} Td ({safe}) Tj ET")
            content = "\n".join(lines).encode("latin-1", "replace")
        objects.append(
            f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
        )
        content_ref = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_ref} 0 R "
            f"/Resources << {resources} >> >>".encode()
        )
        kids.append(f"{len(objects)} 0 R")
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path


def scanned_page(text: str) -> Image.Image:
    image = Image.new("RGB", (298, 421), "white")
    ImageDraw.Draw(image).text((20, 40), text, fill="black")
    return image


def write_report(
    path: Path, pages: int = 300, facts: int = 50, scanned: tuple[int, ...] = (), seed: int = 7
) -> tuple[Path, list[tuple[int, str, str, str]]]:
    """A long report with one fact on each of `facts` known pages, some pages scanned."""
    rng = random.Random(seed)
    known = make_facts(facts, pages, seed)
    by_page = {page: sentence for page, sentence, _q, _a in known}
    content: list[list[str] | Image.Image] = []
    for number in range(1, pages + 1):
        if number in scanned:
            content.append(scanned_page(f"Scanned page {number}"))
            continue
        lines = [f"Section {number}", *(filler(rng, 12) for _ in range(40))]
        if number in by_page:
            lines.insert(rng.randint(2, 30), by_page[number])
        content.append(lines)
    return write_pdf(path, content), known


def write_locked_pdf(path: Path, text: str, password: str) -> Path:
    """A one-page PDF encrypted with `password` (RC4: AES would need the cryptography package)."""
    import pypdf

    plain = write_pdf(path.with_name(f"plain-{path.name}"), [[text]])
    writer = pypdf.PdfWriter(clone_from=plain)
    writer.encrypt(password, algorithm="RC4-128")
    with open(path, "wb") as out:
        writer.write(out)
    return path
