"""How a batch item is answered: by the local worker (one at a time) or by a server.

Each returns an `Answer` for `run_job`. With a schema the local worker constrains the
answer as it is generated; a server is asked with `response_format`, or, where it cannot,
the schema goes in the prompt, the answer is checked and asked for once more, and the
result is marked not constrained. Every structured result is validated before it is saved.
A whole-document item is asked with the document's text and thin pages (`documents`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from app.batch.documents import DocumentTurns
from app.batch.jobs import Item, Job
from app.batch.runner import Answer, ItemFailed, Outcome, Stopped
from app.structured.answer import AnswerError, check_answer
from app.structured.request import StructuredRequest
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import describe_exit, new_request_id


class Worker(Protocol):
    """A loaded worker: its own `WorkerClient`, or the window's (`SharedWorker`)."""

    def send(self, message: p.Message) -> None: ...

    def cancel(self, request_id: str) -> None: ...

    def events_for(self, request_id: str) -> Iterator[p.Message]: ...


class EngineStopped(RuntimeError):
    """The engine itself failed (a dead worker, an unreachable server): stop the run."""


def _turn(job: Job, item: Item, documents: DocumentTurns) -> p.ChatTurn:
    text = job.prompt
    if job.schema is not None:
        text = f"{text}\n\n{StructuredRequest(job.schema, 0).instruction()}"
    if item.document:
        return documents.turn(job, item, text)
    return p.ChatTurn("user", text, [item.image])


def _budget(job: Job) -> int:
    return int(job.settings.get("budget") or job.settings.get("max_new_tokens") or 512)


def _outcome(job: Job, text: str, finish_reason: str, constrained: bool) -> Outcome:
    if job.schema is None:
        return Outcome(text)
    try:
        value = check_answer(text, job.schema, finish_reason, _budget(job))
    except AnswerError as exc:
        raise ItemFailed(str(exc)) from None
    return Outcome(text, value, constrained)


def _sampling(job: Job) -> Sampling:
    """The job's sampling settings (greedy unless it says otherwise), its token budget."""
    return Sampling.from_dict({"temperature": 0.0, **job.settings, "max_new_tokens": _budget(job)})


def worker_answer(client: Worker, stop: threading.Event, pdf_password: str | None = None) -> Answer:
    """Answers from a loaded local worker; `stop` cancels the answer in flight.

    `pdf_password` draws the pages of encrypted PDFs asked as whole documents.
    """
    documents = DocumentTurns(pdf_password)

    def answer(job: Job, item: Item) -> Outcome:
        rid = new_request_id()
        client.send(
            p.Generate(rid, [_turn(job, item, documents)], _sampling(job), json_schema=job.schema)
        )
        pieces: list[str] = []
        for event in client.events_for(rid):
            if stop.is_set():
                client.cancel(rid)
                stop.clear()
            if isinstance(event, p.Token):
                pieces.append(event.text)
            elif isinstance(event, p.Done):
                return _outcome(job, "".join(pieces), event.finish_reason, True)
            elif isinstance(event, p.Cancelled):
                raise Stopped()
            elif isinstance(event, p.Error):
                if event.error_kind == "bad_input":
                    raise ItemFailed(event.message)
                raise EngineStopped(event.message)
            elif isinstance(event, p.WorkerDied):
                raise EngineStopped(
                    f"The model worker stopped ({describe_exit(event.exit_code)}); "
                    "resume the job to go on where it stopped."
                )
        raise EngineStopped("The model worker did not answer.")

    return answer


def server_answer(
    settings: Any, say: Callable[[str], None], pdf_password: str | None = None
) -> Answer:
    """Answers from an OpenAI-compatible server, safe to call from several threads."""
    from app.engines.structured_server import StructuredServer

    server = StructuredServer(settings, say)
    documents = DocumentTurns(pdf_password)

    def answer(job: Job, item: Item) -> Outcome:
        final = server.ask(
            [_turn(job, item, documents)],
            job.schema,
            lambda text, done, forced: _outcome(job, text, done.finish_reason, forced),
            ItemFailed,
            sampling=_sampling(job),
        )
        if isinstance(final, Outcome):
            return final
        if isinstance(final, p.Error):
            if final.error_kind in ("bad_input", "context_too_long"):
                raise ItemFailed(final.message)
            raise EngineStopped(final.message)
        raise Stopped()

    return answer
