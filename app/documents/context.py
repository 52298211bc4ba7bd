"""The context meter: how many tokens a request will take, before it is sent.

The worker applies the checkpoint's chat template, tokenizes the text and replaces each
`<|image|>` with the image's tokens. This does the same without torch: the template
with jinja2 (set up as transformers sets it up), the text with the `tokenizers` library
from the checkpoint's tokenizer.json, and each image's tokens from its tile grid. So the
estimate is the prompt length the worker will count, not a guess.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

from app.documents.tiling import ProcessorSettings, TileGrid, read_json_object
from app.inference.template_chat import template_chat

IMAGE_PLACEHOLDER = "<|image|>"


class ContextError(ValueError):
    """A checkpoint whose tokenizer or chat template cannot be read, with a message."""


@dataclass(frozen=True)
class MeterTurn:
    """A message as the meter sees it: its role, its text, the grids of its images."""

    role: str  # system, user, assistant, or tool (a tool's result)
    text: str
    images: tuple[TileGrid, ...] = ()
    tool_calls: tuple[dict[str, Any], ...] = ()  # on an assistant turn that called tools


@dataclass(frozen=True)
class ContextEstimate:
    """Tokens of a request against the model's context."""

    text_tokens: int
    image_tokens: int
    answer_tokens: int  # room kept for the answer (max new tokens)
    context_length: int  # 0 when the checkpoint does not say
    image_count: int = 0
    # The parts of text_tokens: the tool definitions, the tools' results, the last user
    # message ("your text"); earlier messages (and the template's frame) are the rest.
    tool_definition_tokens: int = 0
    tool_result_tokens: int = 0
    your_text_tokens: int = 0
    document_tokens: int = 0  # the attached documents' pages sent as text (app.chat.documents)

    @property
    def earlier_tokens(self) -> int:
        return (
            self.text_tokens
            - self.tool_definition_tokens
            - self.tool_result_tokens
            - self.your_text_tokens
            - self.document_tokens
        )

    def parts(self) -> list[tuple[str, int]]:
        """The request's parts, which add up to `total`."""
        documents = [("Documents", self.document_tokens)] if self.document_tokens else []
        return [
            ("Earlier messages", self.earlier_tokens),
            ("Your text", self.your_text_tokens),
            *documents,
            ("Images", self.image_tokens),
            ("Tool definitions", self.tool_definition_tokens),
            ("Tool results", self.tool_result_tokens),
            ("Room for the answer", self.answer_tokens),
        ]

    def breakdown(self) -> str:
        """The parts, one a line, and the total: the meter's tooltip."""
        lines = [f"{name}: {tokens:,}" for name, tokens in self.parts()]
        of = f" of {self.context_length:,}" if self.context_length else ""
        return "\n".join([*lines, f"Total: {self.total:,}{of} tokens"])

    @property
    def prompt_tokens(self) -> int:
        return self.text_tokens + self.image_tokens

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.answer_tokens

    @property
    def fits(self) -> bool:
        return not self.context_length or self.total <= self.context_length

    @property
    def fraction(self) -> float:
        """How full the context is (may pass 1.0); 0.0 when the context is unknown."""
        return self.total / self.context_length if self.context_length else 0.0

    def summary(self) -> str:
        """For example "1,204 text + 2,322 image tokens (+512 for the answer) of 65,536"."""
        of = f" of {self.context_length:,}" if self.context_length else ""
        return (
            f"{self.text_tokens:,} text + {self.image_tokens:,} image tokens "
            f"(+{self.answer_tokens:,} for the answer){of}"
        )

    def problem(self) -> str | None:
        """A sentence for the user when the request does not fit, else None."""
        if self.fits:
            return None
        return (
            f"This request needs {self.prompt_tokens:,} prompt tokens ({self.text_tokens:,} "
            f"text, {self.image_tokens:,} for {self.image_count} image"
            f"{'' if self.image_count == 1 else 's'}) plus {self.answer_tokens:,} for the "
            f"answer, {self.total - self.context_length:,} more than the model's context of "
            f"{self.context_length:,}. Remove images, pages or earlier messages, or ask for "
            "fewer new tokens."
        )


@dataclass
class ContextMeter:
    """Counts a request's tokens for one checkpoint folder. Reuse it: loading is the cost."""

    folder: Path
    context_length: int = 0
    settings: ProcessorSettings = field(init=False)
    _tokenizer: Tokenizer = field(init=False, repr=False)
    _template: jinja2.Template = field(init=False, repr=False)
    _special: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        tokenizer_file = self.folder / "tokenizer.json"
        try:
            self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise ContextError(
                f"The tokenizer of {self.folder.name} cannot be read ({exc}); the context "
                "meter needs the checkpoint's tokenizer.json."
            ) from exc
        self.settings = ProcessorSettings.from_checkpoint(self.folder)
        tokenizer_config = _read_json(self.folder / "tokenizer_config.json")
        self._special = {
            name: _token_text(tokenizer_config.get(name))
            for name in ("bos_token", "eos_token", "pad_token", "unk_token")
        }
        self._template = _environment().from_string(_chat_template(self.folder, tokenizer_config))
        if not self.context_length:
            config = _read_json(self.folder / "config.json")
            text_config = config.get("text_config") or config
            self.context_length = int(text_config.get("max_position_embeddings") or 0)

    def count_text(self, text: str) -> int:
        """Tokens of plain text (no special tokens added)."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _text_tokens(self, turns: Sequence[MeterTurn], tools: Sequence[dict[str, Any]] = ()) -> int:
        """Text tokens of `turns` as the worker renders them (images' spans not counted)."""
        try:
            chat = template_chat(turns, with_tools=bool(tools))
            extra: dict[str, Any] = {"tools": list(tools)} if tools else {}
            prompt = self._template.render(
                messages=chat, add_generation_prompt=True, **self._special, **extra
            )
        except (jinja2.TemplateError, ValueError) as exc:
            raise ContextError(f"The chat template of {self.folder.name} failed: {exc}") from exc
        # The worker calls the processor on the rendered text with special tokens on, as
        # transformers does, so whatever tokenizer.json's post-processor adds counts too.
        ids = self._tokenizer.encode(prompt, add_special_tokens=True).ids
        # Each <|image|> placeholder is one token in the text; the processor replaces it
        # with the image's whole span, which `image_tokens` already counts.
        return len(ids) - sum(len(turn.images) for turn in turns)

    def estimate(
        self,
        turns: Sequence[MeterTurn],
        answer_tokens: int = 0,
        tools: Sequence[dict[str, Any]] = (),
    ) -> ContextEstimate:
        """The tokens the worker will count for `turns` (offered `tools`), plus the answer.

        The parts are differences of renderings, as the worker counts `Done.tool_tokens`:
        with and without the tool definitions, with and without the tool turns, with and
        without the last user message. So they add up to the total exactly.
        """
        text_tokens = self._text_tokens(turns, tools)
        plain = self._text_tokens(turns) if tools else text_tokens
        talk = [turn for turn in turns if turn.role not in {"tool", "ipython"}]
        without_results = self._text_tokens(talk) if len(talk) < len(turns) else plain
        yours = 0
        if talk and talk[-1].role == "user":
            before = talk[:-1]
            try:
                yours = without_results - (self._text_tokens(before) if before else 0)
            except ContextError:
                yours = 0  # a template that cannot render this prefix: all "earlier"
        grids = [grid for turn in turns for grid in turn.images]
        return ContextEstimate(
            text_tokens=text_tokens,
            image_tokens=sum(grid.image_tokens for grid in grids),
            answer_tokens=answer_tokens,
            context_length=self.context_length,
            image_count=len(grids),
            tool_definition_tokens=max(0, text_tokens - plain),
            tool_result_tokens=max(0, plain - without_results),
            your_text_tokens=max(0, yours),
        )


def _environment() -> ImmutableSandboxedEnvironment:
    """A sandbox set up like transformers' for chat templates."""

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(
        value: Any,
        ensure_ascii: bool = False,
        indent: int | None = None,
        separators: tuple[str, str] | None = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(
            value,
            ensure_ascii=ensure_ascii,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def _chat_template(folder: Path, tokenizer_config: dict[str, Any]) -> str:
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.is_file():
        return jinja_file.read_text(encoding="utf-8")
    for source in (
        _read_json(folder / "chat_template.json"),
        _read_json(folder / "processor_config.json"),
        tokenizer_config,
    ):
        template = source.get("chat_template")
        if isinstance(template, str) and template:
            return template
    raise ContextError(
        f"{folder.name} has no chat template (chat_template.jinja or a chat_template entry), "
        "so the prompt length cannot be worked out."
    )


def _token_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value) if value else ""


def _read_json(path: Path) -> dict[str, Any]:
    return read_json_object(path, ContextError)
