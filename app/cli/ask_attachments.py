"""``maverick-desk ask --attach FILE [--pages 1-3,7] [--password PW]``: images and PDFs.

`--pages` and `--password` apply to the `--attach` before them. Files are checked (and
PDF pages picked) before the model loads, so a wrong password or page range fails at
once; pages are drawn once the checkpoint is known, at the size its tiles want.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.documents.attachments import (
    AttachmentError,
    AttachmentRequest,
    PlannedAttachment,
    PreparedAttachment,
    compose_prompt,
    plan_attachments,
    prepare_attachment,
)
from app.documents.context import ContextError, ContextMeter, MeterTurn
from app.documents.tiling import MAVERICK, ProcessorSettings, TilingError, tile_grid
from app.inference.images import image_facts

Say = Callable[[str], None]


class _Attach(argparse.Action):
    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: Any = None
    ) -> None:
        attached = list(getattr(ns, "attach", None) or [])
        attached.append({"path": str(value), "pages": None, "password": None})
        ns.attach = attached


class _ForLastAttach(argparse.Action):
    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: Any = None
    ) -> None:
        attached = getattr(ns, "attach", None) or []
        if not attached:
            parser.error(f"{opt} must follow the --attach FILE it applies to")
        key = self.dest.removeprefix("attach_")
        if attached[-1][key] is not None:
            parser.error(f"{opt} given twice for --attach {attached[-1]['path']}")
        attached[-1][key] = str(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(attach=[])
    parser.add_argument(
        "--attach",
        action=_Attach,
        metavar="FILE",
        help="attach an image or a PDF (repeatable); a PDF sends its first pages that fit "
        "the image limit unless --pages follows",
    )
    parser.add_argument(
        "--pages",
        dest="attach_pages",
        action=_ForLastAttach,
        metavar="RANGE",
        help="pages of the PDF attached just before, e.g. 1-3,7",
    )
    parser.add_argument(
        "--password",
        dest="attach_password",
        action=_ForLastAttach,
        metavar="PW",
        help="password of the encrypted PDF attached just before",
    )
    parser.add_argument(
        "--text-layer",
        action="store_true",
        help="also send each PDF page's text (its text layer) before the question",
    )


def plan(args: argparse.Namespace) -> list[PlannedAttachment]:
    """Check the --attach files and pick pages; raise `AttachmentError`."""
    requests = [
        AttachmentRequest(Path(item["path"]), item["pages"], item["password"])
        for item in args.attach
    ]
    try:
        plans = plan_attachments(requests, args.max_images - len(args.image))
    except AttachmentError as exc:
        if exc.password_wanted:
            hint = "Pass it with --password PW right after that --attach."
            raise AttachmentError(f"{exc} {hint}") from exc
        raise
    if not args.quiet:
        for planned in plans:
            for notice in planned.notices:
                print(f"note: {notice}", file=sys.stderr)
    return plans


def finish(
    args: argparse.Namespace,
    plans: Sequence[PlannedAttachment],
    model: Path | None,
    images: list[str],
    say: Say,
) -> tuple[list[str], str]:
    """Draw the pages for `model`'s tiles; return every image path and the prompt text.

    Says each image's tile grid and token cost, and the request's context figures;
    raises `AttachmentError` when a page cannot be drawn or the request does not fit.
    With `model` None (a server's model) pages are drawn for Maverick's tiles.
    """
    try:
        settings = ProcessorSettings.from_checkpoint(model) if model else MAVERICK
    except TilingError as exc:
        raise AttachmentError(str(exc)) from exc
    prepared: list[PreparedAttachment] = []
    for planned in plans:
        done = prepare_attachment(planned, settings, text_layer=args.text_layer)
        assert done is not None  # nothing stops it here
        prepared.append(done)
    grids = []
    for path in images:
        facts = image_facts(path)
        grid = tile_grid(facts.width, facts.height, settings)
        grids.append(grid)
        say(f"[{Path(path).name}: {facts.width}×{facts.height} px, {grid.label()}]")
    for attachment in prepared:
        for image in attachment.images:
            grids.append(image.grid)
            say(f"[{image.label}: {image.width}×{image.height} px, {image.grid.label()}]")
    prompt = compose_prompt(args.prompt, prepared)
    all_images = images + [str(image.path) for a in prepared for image in a.images]
    if model:
        _check_context(args, model, prompt, tuple(grids), say)
    return all_images, prompt


def _check_context(
    args: argparse.Namespace, model: Path, prompt: str, grids: tuple[Any, ...], say: Say
) -> None:
    try:
        meter = ContextMeter(model)
    except (ContextError, TilingError) as exc:
        say(f"warning: the prompt length cannot be worked out before sending: {exc}")
        return
    turns = [MeterTurn("system", args.system)] if args.system else []
    turns.append(MeterTurn("user", prompt, grids))
    estimate = meter.estimate(turns, answer_tokens=args.max_new_tokens)
    say(
        f"[context: {estimate.summary()}; image tokens span <|image_start|>…<|image_end|>, "
        f"{sum(grid.patch_tokens for grid in grids)} of them patches]"
    )
    problem = estimate.problem()
    if problem:
        raise AttachmentError(problem)


def stderr_say(quiet: bool) -> Say:
    """Print progress and figures to stderr, or nothing with --quiet."""
    return (lambda text: None) if quiet else (lambda text: print(text, file=sys.stderr))
