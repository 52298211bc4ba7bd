"""``maverick-desk serve``: the model as a local OpenAI-compatible API (``/v1``).

Starts the worker, listens at once (requests get 503 while the model loads), loads the
checkpoint, prints the address, and serves until Ctrl+C or SIGTERM. A worker that dies
is started again by the next request (backing off if it keeps dying). Any address other
than this machine's own needs ``--api-key-env``: the key is read from that variable and
never written anywhere.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from app.inference.images import DEFAULT_IMAGE_LIMIT
from app.paths import default_model
from app.workers.protocol import DEFAULT_PROMPT_CACHE_ENTRIES, MAX_PROMPT_CACHE_ENTRIES

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_PORT = 8790


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the model as a local OpenAI-compatible API (default http://127.0.0.1:8790/v1)",
        description=(
            "Load the model in a worker process and serve it at http://HOST:PORT/v1 "
            "(GET /v1/models, POST /v1/chat/completions), one generation at a time."
        ),
    )
    parser.add_argument("--model", help="checkpoint folder (default: the demo checkpoint)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="environment variable holding the API key clients must send (required for any "
        "address other than 127.0.0.1)",
    )
    parser.add_argument(
        "--max-queue", type=int, default=8, metavar="N", help="requests waiting (default 8)"
    )
    parser.add_argument(
        "--max-body-mib", type=int, default=64, metavar="MIB", help="request body limit (64)"
    )
    parser.add_argument(
        "--max-images",
        type=int,
        default=DEFAULT_IMAGE_LIMIT,
        metavar="N",
        help=f"per-request image limit (default {DEFAULT_IMAGE_LIMIT})",
    )
    parser.add_argument(
        "--allow-image-urls",
        action="store_true",
        help="fetch http(s) image URLs (up to 20 MiB, 10 s each); off by default",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="send CORS headers for this web origin (repeatable); none by default",
    )
    parser.add_argument(
        "--prompt-cache",
        type=int,
        default=DEFAULT_PROMPT_CACHE_ENTRIES,
        metavar="N",
        help="conversations whose KV cache the worker keeps, so that their follow-ups prefill "
        f"only what is new (default {DEFAULT_PROMPT_CACHE_ENTRIES}; 0 turns it off; at most "
        f"{MAX_PROMPT_CACHE_ENTRIES}, within half of the free device memory)",
    )
    parser.add_argument(
        "--prompt-cache-gib",
        type=float,
        default=0.0,
        metavar="GIB",
        help="device memory the kept KV caches may take (default 0: half of what is free); "
        "never the last 2 GiB the device has free",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the address")
    parser.set_defaults(handler=run)


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"maverick-desk serve: {message}", file=sys.stderr)
    return code


def api_key(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The key from --api-key-env and a problem sentence, or None for either."""
    from app.local_api.addresses import is_loopback

    if args.api_key_env is None:
        if is_loopback(args.host):
            return None, None
        return None, (
            f"listening on {args.host} makes the model reachable from the network; that needs "
            "an API key: put it in an environment variable and pass --api-key-env VAR."
        )
    key = os.environ.get(args.api_key_env, "").strip()
    if not key:
        return None, f"the environment variable {args.api_key_env} is not set or is empty."
    return key, None


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        return _fail("--port must be from 1 to 65535.", EXIT_BAD_INPUT)
    if args.max_queue < 0 or args.max_body_mib < 1 or args.max_images < 0:
        return _fail("--max-queue, --max-body-mib and --max-images must be positive.", 2)
    if not 0 <= args.prompt_cache <= MAX_PROMPT_CACHE_ENTRIES:
        return _fail(
            f"--prompt-cache must be from 0 (off) to {MAX_PROMPT_CACHE_ENTRIES} conversations.",
            EXIT_BAD_INPUT,
        )
    if not 0 <= args.prompt_cache_gib < 1 << 20:
        return _fail("--prompt-cache-gib must be 0 (half of the free memory) or more.", 2)
    key, problem = api_key(args)
    if problem:
        return _fail(problem, EXIT_BAD_INPUT)
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    model = Path(args.model).expanduser() if args.model else default_model()

    from app.local_api.addresses import is_loopback
    from app.local_api.serving import LocalApi, ServeOptions

    options = ServeOptions(
        host=args.host,
        port=args.port,
        api_key=key,
        max_queue=args.max_queue,
        max_body_bytes=args.max_body_mib * 1024 * 1024,
        image_limit=args.max_images,
        fetch_image_urls=args.allow_image_urls,
        cors_origins=tuple(args.cors_origin),
        prompt_cache_entries=args.prompt_cache,
        prompt_cache_bytes=int(args.prompt_cache_gib * (1 << 30)),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    api = LocalApi(options, say=say)
    try:
        api.start()
    except OSError as exc:
        api.close()
        return _fail(str(exc))
    try:
        say(f"[loading {model} …]")
        try:
            ready = api.load(model, create_demo=not args.model)
        except RuntimeError as exc:
            return _fail(str(exc))
        label = "  [demo: random weights]" if ready.is_demo else ""
        say(f"[{ready.name}, {ready.quantisation}, {', '.join(ready.devices)}{label}]")
        if not is_loopback(args.host):
            say(f"warning: the model is reachable from the network at {args.host}.")
        print(f"Serving {api.model.model_id} at {api.base_url} (Ctrl+C to stop)", flush=True)
        while not stop.wait(0.5):
            if not api.running:
                return _fail("the API server stopped unexpectedly.")
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        state = api.close()
        say(f"[served {state.served_api} request(s)]")
