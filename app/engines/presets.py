"""Where Llama 4 Maverick is served over the OpenAI chat API, and what each place needs.

Plain data: one `Preset` per hosted provider or local server, with the base URL, the
provider's name for Maverick, the environment variable its key usually lives in, the
headers and query parameters it wants, and the limits it documents (images per
request, context window). `settings()` turns a preset into the `ServerSettings` the
server engine uses. No key is ever part of a preset: only the *name* of the variable.

Sources (checked 2026-12-01): Together AI's model list (524,288 tokens for the FP8
Maverick), OpenRouter's model page
(1,048,576), Groq's model card (131,072 tokens, up to 5 images), Fireworks' model page
(1,048,576), Vercel's AI Gateway model page (`meta/llama-4-maverick`, context not
stated: it routes to other providers, so the smallest of theirs is assumed), and
Microsoft's Azure AI model inference API (`api-key` header, `api-version` query).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.engines.openai_client import ServerSettings

# Meta's model card: Maverick takes up to 5 images per request (tested by Meta up to 5)
# and has a 1M-token context; providers serve less where they say so.
MAVERICK_IMAGES = 5
MAVERICK_CONTEXT = 1_048_576
# The Azure AI model inference API version the models endpoint documents.
AZURE_API_VERSION = "2024-05-01-preview"


def _frozen(items: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Preset:
    """One place that serves Maverick; `placeholders` name the parts the user fills in."""

    name: str  # short id for the command line, e.g. "together"
    title: str  # what the window shows
    base_url: str  # may contain {placeholders}, e.g. Azure's {resource}
    model: str  # the provider's name for Maverick (Azure: a deployment name)
    api_key_env: str | None  # where the key usually lives; None for local servers
    context_tokens: int
    context_source: str  # where the context figure comes from
    max_images: int = MAVERICK_IMAGES
    headers: Mapping[str, str] = field(default_factory=_frozen)
    query: Mapping[str, str] = field(default_factory=_frozen)
    # The key goes in this header instead of "Authorization: Bearer …" (Azure: api-key).
    api_key_header: str | None = None
    optional_headers: tuple[str, ...] = ()  # headers the provider reads if they are sent
    hosted: bool = True  # images and text leave this machine
    note: str = ""

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The `{names}` in the base URL that must be filled before use."""
        import string

        fields = string.Formatter().parse(self.base_url)
        return tuple(name for _, name, _, _ in fields if name)

    def settings(
        self,
        *,
        model: str | None = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
        **values: str,
    ) -> ServerSettings:
        """`ServerSettings` for this preset; `values` fill the URL's placeholders.

        `headers` adds to (or replaces) the preset's own, e.g. OpenRouter's optional
        HTTP-Referer and X-Title. `base_url` replaces the address altogether (another
        host or port for the same kind of server). Raises `ValueError` naming what is
        missing.
        """
        if base_url is not None and values:
            raise ValueError(f"Give {self.title} either a whole address or its placeholders.")
        missing = [name for name in self.placeholders if base_url is None and not values.get(name)]
        if missing:
            names = ", ".join(f"{{{name}}}" for name in missing)
            raise ValueError(f"{self.title}'s address {self.base_url} needs {names} filled in.")
        unknown = sorted(set(values) - set(self.placeholders))
        if unknown:
            raise ValueError(f"{self.title} has no {', '.join(unknown)} in its address.")
        return ServerSettings(
            base_url=base_url if base_url is not None else self.base_url.format(**values),
            model=model or self.model,
            api_key_env=self.api_key_env,
            headers=dict(self.headers) | dict(headers or {}),
            query=dict(self.query),
            api_key_header=self.api_key_header,
            max_images=self.max_images,
            context_tokens=self.context_tokens,
            preset=self.name,
        )


PRESETS: tuple[Preset, ...] = (
    Preset(
        name="together",
        title="Together AI",
        base_url="https://api.together.xyz/v1",
        model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
        api_key_env="TOGETHER_API_KEY",
        context_tokens=524_288,
        context_source="Together AI's model list",
    ),
    Preset(
        name="openrouter",
        title="OpenRouter",
        base_url="https://openrouter.ai/api/v1",
        model="meta-llama/llama-4-maverick",
        api_key_env="OPENROUTER_API_KEY",
        context_tokens=MAVERICK_CONTEXT,
        context_source="OpenRouter's model page",
        optional_headers=("HTTP-Referer", "X-Title"),
        note="HTTP-Referer and X-Title name your app in OpenRouter's rankings; both optional.",
    ),
    Preset(
        name="azure",
        title="Azure AI Foundry",
        base_url="https://{resource}.services.ai.azure.com/models",
        model="Llama-4-Maverick-17B-128E-Instruct-FP8",
        api_key_env="AZURE_INFERENCE_CREDENTIAL",
        context_tokens=MAVERICK_CONTEXT,
        context_source="Meta's model card; Azure states none for a deployment",
        query=_frozen({"api-version": AZURE_API_VERSION}),
        api_key_header="api-key",
        note="The model is your deployment's name; {resource} is your Foundry resource.",
    ),
    Preset(
        name="vercel",
        title="Vercel AI Gateway",
        base_url="https://ai-gateway.vercel.sh/v1",
        model="meta/llama-4-maverick",
        api_key_env="AI_GATEWAY_API_KEY",
        context_tokens=131_072,
        context_source="not stated; assumed the smallest of the providers it routes to, Groq's",
    ),
    Preset(
        name="groq",
        title="Groq",
        base_url="https://api.groq.com/openai/v1",
        model="meta-llama/llama-4-maverick-17b-128e-instruct",
        api_key_env="GROQ_API_KEY",
        context_tokens=131_072,
        context_source="Groq's model card: 128K, up to 5 images",
    ),
    Preset(
        name="fireworks",
        title="Fireworks AI",
        base_url="https://api.fireworks.ai/inference/v1",
        model="accounts/fireworks/models/llama4-maverick-instruct-basic",
        api_key_env="FIREWORKS_API_KEY",
        context_tokens=MAVERICK_CONTEXT,
        context_source="Fireworks' model page",
    ),
    Preset(
        name="vllm",
        title="vLLM (your own server)",
        base_url="http://127.0.0.1:8000/v1",
        model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
        api_key_env=None,
        context_tokens=430_000,
        context_source="the --max-model-len that `maverick-desk server start` passes",
        hosted=False,
        note="`maverick-desk server start --engine vllm` starts one; the model is its --model.",
    ),
    Preset(
        name="sglang",
        title="SGLang (your own server)",
        base_url="http://127.0.0.1:30000/v1",
        model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
        api_key_env=None,
        context_tokens=430_000,
        context_source="the --context-length that `maverick-desk server start` passes",
        hosted=False,
        note="SGLang's own port is 30000; `maverick-desk server start` uses 8000.",
    ),
    Preset(
        name="transformers",
        title="transformers serve (your own server)",
        base_url="http://127.0.0.1:8000/v1",
        model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
        api_key_env=None,
        context_tokens=MAVERICK_CONTEXT,
        context_source="the model's own config (transformers serve has no limit of its own)",
        hosted=False,
        note="The model is the id or folder `transformers serve` was started with.",
    ),
)

_BY_NAME = {preset.name: preset for preset in PRESETS}


def preset_named(name: str) -> Preset:
    """The preset called `name`; `KeyError` with the names there are otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        names = ", ".join(_BY_NAME)
        raise KeyError(f"There is no preset “{name}”; the presets are: {names}.") from None
