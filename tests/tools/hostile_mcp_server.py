"""A hostile MCP server over stdio, standard library only (it starts in milliseconds).

`python hostile_mcp_server.py` speaks just enough JSON-RPC for the app's client and offers
tools that misbehave: output floods, stderr floods, children that escape the process group,
a 100-megapixel image. Each request runs on its own thread, so pings answer mid-call.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from typing import Any

MIB = 1024 * 1024
_write_lock = threading.Lock()
_out = sys.stdout.buffer


def _send(message: dict[str, Any]) -> None:
    with _write_lock:
        _out.write(json.dumps(message).encode() + b"\n")
        _out.flush()


def _text(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


def _png(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG, compressed row by row (a 100-megapixel one is ~20 KB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def flood(request_id: Any, megabytes: float, id_last: bool = False) -> None:
    """One reply line of `megabytes` MB of text, written as it goes."""
    head = {"jsonrpc": "2.0"} if id_last else {"jsonrpc": "2.0", "id": request_id}
    start = json.dumps(head)[:-1] + ', "result": {"content": [{"type": "text", "text": "'
    end = (
        '"}], "isError": false}' + (f', "id": {json.dumps(request_id)}' if id_last else "") + "}\n"
    )
    piece = b"flood " * (MIB // 6)
    with _write_lock:
        _out.write(start.encode())
        for _ in range(int(megabytes * MIB) // len(piece)):
            _out.write(piece)
        _out.write(end.encode())
        _out.flush()


def escape() -> str:
    """A child in the group, and a grandchild that leaves it with setsid; their pids."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    child = subprocess.Popen(sleeper)
    escaper = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, subprocess, time; os.setsid();"
         f"p = subprocess.Popen({sleeper!r}); print(os.getpid(), p.pid, flush=True);"
         "time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert escaper.stdout is not None
    return " ".join([str(child.pid), escaper.stdout.readline().strip()])


def call(request_id: Any, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
    if name == "flood":
        flood(request_id, float(args.get("megabytes", 100)), bool(args.get("id_last")))
        return None
    if name == "noise":  # lines on stdout that are not JSON-RPC, then the answer
        line = b"noise " * 170 + b"\n"
        with _write_lock:
            for _ in range(int(float(args.get("megabytes", 10)) * MIB) // len(line)):
                _out.write(line)
        return _text("made noise")
    if name == "stderr_flood":
        line = b"noise " * 170 + b"\n"
        for _ in range(int(float(args.get("megabytes", 10)) * MIB) // len(line)):
            sys.stderr.buffer.write(line)
        sys.stderr.flush()
        return _text("flooded stderr")
    if name == "pid":
        return _text(str(os.getpid()))
    if name == "escape":
        return _text(escape())
    if name == "hang":
        if args.get("pids_file"):  # the server, a child and an escaped pair, then the hang
            pids = f"{os.getpid()} {escape()}\n"
            with open(args["pids_file"] + ".part", "w") as out:
                out.write(pids)
            os.replace(args["pids_file"] + ".part", args["pids_file"])
        time.sleep(float(args.get("seconds", 600)))
        return _text("woke up")
    if name == "images":
        side = int(args.get("side", 10_000))
        big, small = _png(side, side), _png(8, 8)
        blocks = [{"type": "text", "text": "two images"}] + [
            {"type": "image", "mimeType": "image/png", "data": base64.b64encode(b).decode()}
            for b in (big, small)
        ]
        return {"content": blocks, "isError": False}
    return {"content": [{"type": "text", "text": f"no tool {name}"}], "isError": True}


TOOLS = ["flood", "noise", "stderr_flood", "pid", "escape", "hang", "images"]


def handle(message: dict[str, Any]) -> None:
    method, request_id = message.get("method"), message.get("id")
    if request_id is None:
        return  # a notification
    params = message.get("params") or {}
    if method == "initialize":
        result: dict[str, Any] | None = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "hostile", "version": "1"},
        }
    elif method == "tools/list":
        schema = {"type": "object", "properties": {}}
        result = {"tools": [{"name": n, "description": n, "inputSchema": schema} for n in TOOLS]}
    elif method == "tools/call":
        result = call(request_id, params["name"], params.get("arguments") or {})
    elif method == "ping":
        result = {}
    else:
        _send({"jsonrpc": "2.0", "id": request_id,
               "error": {"code": -32601, "message": f"no method {method}"}})  # fmt: skip
        return
    if result is not None:
        _send({"jsonrpc": "2.0", "id": request_id, "result": result})


def main() -> None:
    print(f"hostile server {os.getpid()} up", file=sys.stderr, flush=True)
    for line in sys.stdin.buffer:
        if line.strip():
            threading.Thread(target=handle, args=(json.loads(line),), daemon=True).start()


if __name__ == "__main__":
    main()
