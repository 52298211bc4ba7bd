"""``maverick-desk batch``: one question over a folder of images and PDFs, results as a table."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from app.batch.answers import EngineStopped, server_answer, worker_answer
from app.batch.engine_choice import describe, engine_settings, saved_server, unavailable
from app.batch.exports import FORMATS, export
from app.batch.inputs import PDF_AS, collect
from app.batch.jobs import DONE, FAILED, JobError, JobStore
from app.batch.runner import Answer, Progress, run_job
from app.cli import server as server_cli
from app.paths import default_model
from app.structured.request import load_schema_file
from app.structured.schema import SchemaError
from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit

EXIT_FAILED_ITEMS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
ASK = "\0ask"  # --password given without a value: ask for it
PASSWORD_HINT = "Give its password with --password."


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="ask one question about every image and PDF (or PDF page) in folders or files",
        description=(
            "Run PROMPT over every image and PDF page in the given folders and files, one "
            "item a request (N at a time on a server). Every result is saved as it finishes, "
            "so a killed run resumes with --resume JOB without running a saved item again. "
            "With --schema the answers are JSON constrained to it, one column per field."
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="DIR|FILE")
    parser.add_argument("--prompt", help="the question asked of every item")
    parser.add_argument("--schema", metavar="FILE", help="JSON Schema or field-list file")
    parser.add_argument(
        "--out", metavar="FILE", help=f"save the table ({', '.join(FORMATS)}) when done"
    )
    parser.add_argument("--recursive", action="store_true", help="also search sub-folders")
    parser.add_argument(
        "--pdf-as",
        choices=PDF_AS,
        default="pages",
        help="each PDF page one item (default), or each PDF one item asked as a whole "
        "document: its text (whole if it fits, else the best pages) and thin pages as images",
    )
    parser.add_argument(
        "--password", nargs="?", const=ASK, metavar="PASSWORD",
        help="the password of encrypted PDFs (one for all); alone, it is asked for without "
        "echo. Never saved: give it again with --resume for whole documents",
    )  # fmt: skip
    parser.add_argument("--model", help="checkpoint folder; with --server, the model name")
    parser.add_argument("--server", metavar="URL", help="an OpenAI-compatible server")
    parser.add_argument("--api-key-env", metavar="VAR", help="the variable holding the API key")
    server_cli.add_preset_arguments(parser)
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="requests at once on a server"
    )
    parser.add_argument("--max-new-tokens", type=int, default=512, metavar="N")
    parser.add_argument("--temperature", type=float, default=0.0, metavar="T")
    parser.add_argument(
        "--resume", type=int, metavar="JOB",
        help="go on with job JOB on the engine it was started with (or on the one named with "
        "--model, --server or --preset)",
    )  # fmt: skip
    parser.add_argument(
        "--retry-failed", action="store_true", help="with --resume: run failed items again"
    )
    parser.add_argument("--list", action="store_true", help="list the jobs and their progress")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"maverick-desk batch: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    try:
        with JobStore() as store:
            if args.list:
                return _list(store)
            args.password = _password(args.password)
            if args.resume is not None:
                job_id = args.resume
                _choose_engine(store, job_id, args)
            else:
                job_id = _create(store, args)
            return _run(store, job_id, args)
    except (JobError, SchemaError) as exc:
        return _fail(str(exc))


def _list(store: JobStore) -> int:
    for job, counts in store.jobs():
        total = sum(counts.values())
        print(
            f"job {job.id}\t{job.state}\t{counts[DONE]}/{total} done, {counts[FAILED]} failed"
            f"\t{job.name}\t{job.prompt[:60]!r}"
        )
    return 0


def _create(store: JobStore, args: argparse.Namespace) -> int:
    if not args.paths:
        raise JobError("name the folders or files to run over, or --resume JOB.")
    if not args.prompt or not args.prompt.strip():
        raise JobError("--prompt is needed: the question asked of every item.")
    if args.concurrency < 1:
        raise JobError("--concurrency must be at least 1.")
    if args.out and Path(args.out).suffix.lower() not in FORMATS:
        raise JobError(f"--out must end in {', '.join(FORMATS)}.")
    structured = load_schema_file(args.schema) if args.schema else None
    engine = _named_engine(args)  # checks it, says what's wrong
    server = engine["engine"] == "server"
    collected = collect(
        args.paths, recursive=args.recursive, pdf_as=args.pdf_as, password=args.password,
        password_hint=PASSWORD_HINT,
    )  # fmt: skip
    for sentence in collected.left_out:
        print(f"left out: {sentence}", file=sys.stderr)
    settings = {
        **engine,
        "concurrency": args.concurrency if server else 1,
        "temperature": args.temperature,
        "max_new_tokens": args.max_new_tokens,
        "budget": structured.budget if structured else args.max_new_tokens,
        "out": args.out,
        "pdf_as": args.pdf_as,
    }
    name = ", ".join(Path(p).name for p in args.paths)[:120]
    job_id = store.create(
        name,
        args.prompt,
        collected.items,
        schema=structured.schema if structured else None,
        settings=settings,
    )
    print(f"Job {job_id}: {len(collected.items)} items.", file=sys.stderr)
    return job_id


def _run(store: JobStore, job_id: int, args: argparse.Namespace) -> int:
    job = store.job(job_id)
    settings = job.settings
    out = args.out or settings.get("out")
    counts = store.counts(job_id)
    total = sum(counts.values())
    bar = _bar(total, counts[DONE] + counts[FAILED], args.quiet)
    stop = threading.Event()
    client: WorkerClient | None = None

    def progress(step: Progress) -> None:
        bar.update(step.done - bar.n)
        bar.set_postfix_str(f"{step.failed} failed" if step.failed else "", refresh=False)

    try:
        if settings["engine"] == "server":
            answer = server_answer(
                _server_settings(settings), lambda text: bar.write(text), args.password
            )
        else:
            demo = bool(settings.get("demo_if_missing"))
            client, answer = _local(settings["model"], demo, stop, bar, args.password)
        counts = run_job(
            store,
            job_id,
            answer,
            concurrency=int(settings.get("concurrency", 1)),
            progress=progress,
            retry_failed=args.retry_failed,
        )
    except KeyboardInterrupt:
        stop.set()
        bar.close()
        return _stopped(job_id, "Stopped")
    except EngineStopped as exc:
        bar.close()
        print(f"maverick-desk batch: {exc}", file=sys.stderr)
        return _stopped(job_id, "Stopped", code=EXIT_FAILED_ITEMS)
    finally:
        if client is not None:
            client.shutdown(timeout=10)
    bar.close()
    if out:
        export(store.job(job_id), store.items(job_id), Path(out))
        print(f"Saved the table to {out}.", file=sys.stderr)
    print(
        f"Job {job_id}: {counts[DONE]} done, {counts[FAILED]} failed of {total}.", file=sys.stderr
    )
    for item in store.items(job_id):
        if item.status == FAILED:
            print(f"failed: {item.label}: {item.error}", file=sys.stderr)
    return EXIT_FAILED_ITEMS if counts[FAILED] else 0


def _named_engine(args: argparse.Namespace) -> dict[str, Any]:
    """The engine the arguments name (a server, else the local model), as a job saves it."""
    if args.server or args.preset:
        try:
            server = server_cli.settings_from_args(args, model=args.model or "")
        except ValueError as exc:
            raise JobError(str(exc)) from None
        return {**engine_settings(server, ""), "fill": args.fill, "demo_if_missing": False}
    model = args.model or str(default_model())
    return {**engine_settings(None, model), "demo_if_missing": not args.model}


def _choose_engine(store: JobStore, job_id: int, args: argparse.Namespace) -> None:
    """Resume on the job's own engine; another one only when named (then saved with it)."""
    job = store.job(job_id)
    if args.model or args.server or args.preset:
        engine = _named_engine(args)
        if engine["engine"] == "server":
            engine["concurrency"] = args.concurrency
        else:
            engine["concurrency"] = 1
        job = store.update_settings(job_id, engine)
        print(f"Job {job_id} goes on with {describe(job.settings)}.", file=sys.stderr)
        return
    why = unavailable(job.settings)
    if why is not None:
        raise JobError(
            f"job {job_id} was started on {describe(job.settings)}, which cannot be used now: "
            f"{why}. To go on with another engine, name it: maverick-desk batch --resume "
            f"{job_id} --model DIR (or --server URL, or --preset NAME)."
        )


def _stopped(job_id: int, what: str, code: int = EXIT_INTERRUPTED) -> int:
    print(
        f"{what}; every finished item is saved. Go on with: maverick-desk batch --resume {job_id}",
        file=sys.stderr,
    )
    return code


def _bar(total: int, initial: int, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="item", disable=quiet, file=sys.stderr)


def _server_settings(saved: dict[str, Any]) -> Any:
    try:
        settings = saved_server(saved)  # a preset's headers and key header too (never the key)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    _check_key(settings)
    return settings


def _check_key(settings: Any) -> None:
    """A missing key is said now, not once per item."""
    from app.engines.server_errors import ServerError

    try:
        settings.api_key()
    except ServerError as exc:
        raise JobError(exc.message) from None


def _password(given: str | None) -> str | None:
    """The PDFs' password: as given, or asked for (without echo) for a bare --password."""
    if given != ASK:
        return given
    import getpass

    return getpass.getpass("PDF password: ") or None


def _local(
    model: str, demo: bool, stop: threading.Event, bar: Any, password: str | None
) -> tuple[WorkerClient, Answer]:
    client = WorkerClient()
    client.start()
    load = client.load(Path(model), create_demo_if_missing=demo)
    for event in client.events_for(load):
        if isinstance(event, p.Error):
            client.shutdown(timeout=10)
            raise JobError(event.message)
        if isinstance(event, p.WorkerDied):
            client.shutdown(timeout=10)
            raise EngineStopped(
                f"The model worker stopped while loading ({describe_exit(event.exit_code)})."
            )
        if isinstance(event, p.Ready):
            bar.write(f"[{event.name}, {event.quantisation}, {', '.join(event.devices)}]")
    return client, worker_answer(client, stop, password)
