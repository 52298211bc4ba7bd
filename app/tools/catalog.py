"""The tools the model is offered: their names for the model, definitions, argument checks.

A tool keeps its own name unless two servers offer the same one; then both are called
``server__tool`` so the model (and the user approving the call) can tell them apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.tools.tool_settings import ToolSettings

if TYPE_CHECKING:  # the MCP SDK (and pydantic) load only when a server runs
    from app.tools.server_runner import ToolInfo


@dataclass(frozen=True)
class OfferedTool:
    """A tool as offered to the model, under the name the model calls it by."""

    model_name: str
    info: ToolInfo

    @property
    def server(self) -> str:
        return self.info.server

    @property
    def name(self) -> str:
        return self.info.name

    def definition(self) -> dict[str, Any]:
        """The OpenAI-style function definition (also what Llama 4's template reads)."""
        schema = self.info.input_schema or {"type": "object", "properties": {}}
        return {
            "type": "function",
            "function": {
                "name": self.model_name,
                "description": self.info.description,
                "parameters": schema,
            },
        }


class ToolCatalog:
    """The enabled tools of the ready servers, by the name the model uses."""

    def __init__(self, tools: Iterable[ToolInfo], settings: ToolSettings | None = None) -> None:
        chosen = [
            t
            for t in tools
            if settings is None
            or (
                settings.is_tool_enabled(t.server, t.name)
                and settings.policy_for(t.server, t.name) != "never"
            )
        ]
        counts = Counter(t.name for t in chosen)
        self._by_name: dict[str, OfferedTool] = {}
        for info in chosen:
            name = info.name if counts[info.name] == 1 else f"{info.server}__{info.name}"
            self._by_name[name] = OfferedTool(name, info)

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, model_name: str) -> OfferedTool | None:
        return self._by_name.get(model_name)

    def names(self) -> list[str]:
        return list(self._by_name)

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition() for tool in self._by_name.values()]


def argument_problem(tool: OfferedTool, arguments: dict[str, Any]) -> str | None:
    """Why `arguments` do not fit the tool's input schema, as a sentence; None if they do."""
    import jsonschema  # a dependency of mcp; loaded only when a call is checked

    schema = tool.info.input_schema
    if not schema:
        return None
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError:
        return None  # the server's schema is broken: let the server judge the call
    errors = sorted(validator_class(schema).iter_errors(arguments), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    where = ".".join(str(part) for part in first.path)
    place = f" at {where!r}" if where else ""
    return f"The arguments for {tool.model_name!r} do not fit its schema{place}: {first.message}."
