"""``maverick-desk server``: test an OpenAI-compatible server, or start one and keep it running.

``server presets`` prints where Maverick is served (hosted providers and local servers)
with what each needs. ``server test --server URL`` (or ``--preset NAME``) lists the
models a server serves. ``server start`` fills a
command template (vLLM, SGLang or transformers serve, or your own with ``--command``),
starts it, shows its log, waits until it answers, prints the address to give
``ask --server`` or the window, and stops the whole process group on Ctrl+C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import replace
from typing import Any

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def add_parser(subparsers: Any) -> None:
    # Not TEMPLATES itself: app.engines loads only when the subcommand runs.
    templates = ("vllm", "sglang", "transformers")
    parser = subparsers.add_parser(
        "server",
        help="test an OpenAI-compatible server, or start one (vLLM, SGLang, transformers)",
        description="Test or start an OpenAI-compatible server for the app to use.",
    )
    actions = parser.add_subparsers(dest="server_action", metavar="ACTION", required=True)

    presets = actions.add_parser(
        "presets", help="print the hosted providers and local servers that serve Maverick"
    )
    presets.set_defaults(handler=run_presets)

    test = actions.add_parser("test", help="list the models a server serves (GET /v1/models)")
    test.add_argument(
        "--server", metavar="URL", help="e.g. http://gpu:8000/v1; with --preset, its address"
    )
    add_preset_arguments(test)
    test.add_argument("--api-key-env", metavar="VAR", help="environment variable with the key")
    test.set_defaults(handler=run_test)

    start = actions.add_parser(
        "start",
        help="start a server from a command template and keep it running until Ctrl+C",
        description=(
            "Placeholders in the template: {model} {gpus} {context} {port} {host}. "
            "The server runs in its own process group and is stopped with it."
        ),
    )
    start.add_argument("--model", required=True, help="model id or folder to serve")
    start.add_argument("--engine", choices=templates, default="vllm", help="default: vllm")
    # dest is not "command": that name holds the subcommand in the top-level parser.
    start.add_argument(
        "--command", dest="template", metavar="TEMPLATE", help="your own command template"
    )
    start.add_argument("--gpus", type=int, default=8, metavar="N", help="default 8")
    start.add_argument("--context", type=int, default=430_000, metavar="TOKENS")
    start.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    start.add_argument("--port", type=int, default=8000, help="default 8000")
    start.add_argument(
        "--ready-timeout", type=float, default=1800.0, metavar="S", help="default 1800 s"
    )
    start.add_argument("--dry-run", action="store_true", help="print the command and exit")
    start.add_argument("--quiet", action="store_true", help="do not echo the server's log")
    start.set_defaults(handler=run_start)


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"maverick-desk server: {message}", file=sys.stderr)
    return code


def run_presets(args: argparse.Namespace) -> int:
    from app.engines.presets import PRESETS

    for preset in PRESETS:
        where = "hosted: images and text leave this machine" if preset.hosted else "local"
        print(f"{preset.name}  {preset.title} ({where})")
        print(f"    address  {preset.base_url}")
        print(f"    model    {preset.model}")
        if preset.api_key_env:
            header = preset.api_key_header or "Authorization: Bearer"
            print(f"    key      ${preset.api_key_env} (sent as {header})")
        for name, value in preset.headers.items():
            print(f"    header   {name}: {value}")
        for name in preset.optional_headers:
            print(f"    header   {name} (optional)")
        for name, value in preset.query.items():
            print(f"    query    {name}={value}")
        print(
            f"    limits   {preset.max_images} images a request, "
            f"{preset.context_tokens:,} tokens of context ({preset.context_source})"
        )
        if preset.note:
            print(f"    note     {preset.note}")
    return 0


def add_preset_arguments(parser: argparse.ArgumentParser) -> None:
    """`--preset NAME` and `--fill NAME=VALUE`, for `server test` and `ask`."""
    parser.add_argument(
        "--preset", metavar="NAME",
        help="a hosted provider or server from `maverick-desk server presets` (address, model "
        "name, key variable, headers); --server then replaces only its address",
    )  # fmt: skip
    parser.add_argument(
        "--fill", action="append", default=[], metavar="NAME=VALUE",
        help="a placeholder of the preset's address, e.g. resource=myfoundry for Azure",
    )  # fmt: skip


def settings_from_args(args: argparse.Namespace, model: str = "") -> Any:
    """The `ServerSettings` that `--server` or `--preset` and `--fill` describe.

    Raises `ValueError` with a sentence for a missing or malformed part.
    """
    from app.engines.openai_client import ServerSettings
    from app.engines.presets import preset_named

    if not args.preset:
        if not args.server:
            raise ValueError("say where the server is: --server URL or --preset NAME.")
        if args.fill:
            raise ValueError("--fill only applies with --preset.")
        return ServerSettings(base_url=args.server, model=model, api_key_env=args.api_key_env)
    values = {}
    for item in args.fill:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--fill takes NAME=VALUE, not “{item}”.")
        values[name] = value
    try:
        preset = preset_named(args.preset)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    # --server: another address for the same kind of server, so nothing to fill in.
    settings = preset.settings(base_url=args.server, model=model or None, **values)
    if args.api_key_env:
        settings = replace(settings, api_key_env=args.api_key_env)
    return settings


def run_test(args: argparse.Namespace) -> int:
    from app.engines.openai_client import list_server_models
    from app.engines.server_errors import ServerError

    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    started = time.monotonic()
    try:
        models = list_server_models(settings, api_key=settings.api_key())
    except ServerError as exc:
        return _fail(exc.message)
    elapsed = time.monotonic() - started
    where = settings.base_url
    print(f"{where} answered in {elapsed:.2f} s; it serves {len(models)} model(s):")
    for model in models:
        print(f"  {model}")
    return 0


def run_start(args: argparse.Namespace) -> int:
    from app.engines.managed_server import TEMPLATES, ManagedServer, ServerStartError

    template = args.template or TEMPLATES[args.engine]
    echo = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        server = ManagedServer(
            template, args.model, gpus=args.gpus, context=args.context, host=args.host,
            port=args.port, on_log_line=echo,
        )  # fmt: skip
    except ServerStartError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    if args.dry_run:
        print(server.command)
        return 0
    # A plain `kill` must stop the server too: turn SIGTERM into a normal exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.start()
        models = server.wait_until_ready(timeout_s=args.ready_timeout)
        print(f"ready at {server.base_url}; models: {', '.join(models) or '(none listed)'}")
        print(f"ask it: maverick-desk ask --server {server.base_url} --model {args.model} …")
        sys.stdout.flush()
        while server.running:
            time.sleep(0.5)
        return _fail(f"the server stopped by itself; its last lines:\n{server.log_tail()}")
    except ServerStartError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        server.stop()
