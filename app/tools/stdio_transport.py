"""The stdio transport to a tool server, with bounds the SDK's `stdio_client` lacks.

It exchanges newline-delimited JSON-RPC with the server as the SDK does, but:

- stdout is read in 64 KiB pieces and split by `LineSplitter`, so a flood of output costs
  a bounded amount of memory and the rest of an oversized message is read and dropped
  (which also keeps a flooding server from blocking on a full pipe);
- stderr goes to the server's `ServerLog`, which rotates at its size limit;
- the server runs under `server_shim.py` in a new session with a parent-death signal
  (see `process_group`), so nothing it starts outlives the app.

Shutdown follows the SDK's order: close stdin, give the server 2 s to exit, then end the
whole group (SIGTERM, SIGKILL after 2 s).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
from collections.abc import AsyncIterator

import anyio
from mcp.client.stdio import get_default_environment
from mcp.shared.message import SessionMessage
from mcp.types import jsonrpc_message_adapter

from app.tools.message_bounds import LineSplitter, Oversized, oversized_reply
from app.tools.process_group import child_setup, group_alive
from app.tools.server_log import ServerLog

READ_BYTES = 64 * 1024
EXIT_GRACE_S = 2.0
KILL_GRACE_S = 2.0

Message = SessionMessage | Exception
Streams = tuple[anyio.abc.ObjectReceiveStream[Message], anyio.abc.ObjectSendStream[SessionMessage]]


async def _exited(process: asyncio.subprocess.Process, timeout: float) -> bool:
    # Not process.wait(): it also waits for the pipes, which a leftover child can hold.
    deadline = asyncio.get_running_loop().time() + timeout
    while process.returncode is None:
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def end_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the server's session group, SIGKILL whatever is left after a grace."""
    group = process.pid  # the shim leads its own session, so its pid is the group's id
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    await _exited(process, KILL_GRACE_S)
    deadline = asyncio.get_running_loop().time() + 0.5
    while group_alive(group) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


class _Decoder:
    """Lines to session messages; lines that are not JSON-RPC are noted, then skipped.

    The SDK hands each bad line to the session as an exception, which only logs it; a
    server printing 100 MB of text on stdout would cost a traceback a line. Here the first
    few go to the server's log and the rest are counted.
    """

    NOTED = 5

    def __init__(self, server_log: ServerLog) -> None:
        self.server_log = server_log
        self.bad_lines = 0

    def __call__(self, line: bytes | Oversized) -> SessionMessage | None:
        if isinstance(line, Oversized):
            return _oversized(line, self.server_log)
        if not line.strip():
            return None
        try:
            return SessionMessage(jsonrpc_message_adapter.validate_json(line, by_name=False))
        except ValueError:
            self.bad_lines += 1
            if self.bad_lines <= self.NOTED:
                self.server_log.write(
                    f"[maverick-desk] stdout line that is not JSON-RPC, skipped: {line[:200]!r}\n"
                )
            return None

    def close(self) -> None:
        if self.bad_lines > self.NOTED:
            self.server_log.write(
                f"[maverick-desk] {self.bad_lines:,} stdout lines in all were not JSON-RPC\n"
            )


def _oversized(line: Oversized, server_log: ServerLog) -> SessionMessage | None:
    reply = oversized_reply(line)
    server_log.write(
        f"[maverick-desk] a message of {line.size:,} bytes was cut "
        f"({'replied for' if reply else 'no request id found; dropped'})\n"
    )
    if reply is None:
        return None
    return SessionMessage(jsonrpc_message_adapter.validate_python(reply))


@contextlib.asynccontextmanager
async def bounded_stdio_client(
    command: str,
    args: list[str],
    env: dict[str, str],
    cwd: str | None,
    server_log: ServerLog,
) -> AsyncIterator[Streams]:
    """Run the server and yield the session's read and write streams."""
    process = await asyncio.create_subprocess_exec(
        command,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=get_default_environment() | env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=child_setup(),
    )
    assert process.stdin and process.stdout and process.stderr
    stdin, stdout, stderr = process.stdin, process.stdout, process.stderr
    read_writer, read_stream = anyio.create_memory_object_stream[Message](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def drain() -> None:
        while await stdout.read(READ_BYTES):
            pass

    async def pump_stdout() -> None:
        splitter = LineSplitter()
        decode = _Decoder(server_log)
        try:
            async with read_writer:
                while chunk := await stdout.read(READ_BYTES):
                    for line in splitter.feed(chunk):
                        message = decode(line)
                        if message is not None:
                            await read_writer.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the session is gone: keep reading so the server is not stuck writing
        finally:
            decode.close()
        await drain()

    async def pump_stderr() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := await stderr.read(READ_BYTES):
            server_log.write(decoder.decode(chunk))

    async def pump_stdin() -> None:
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    stdin.write(data.encode() + b"\n")
                    await stdin.drain()
        except (OSError, anyio.ClosedResourceError, anyio.BrokenResourceError):
            await read_writer.aclose()  # the session sees the end instead of waiting forever
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(pump_stdout)
        tasks.start_soon(pump_stderr)
        tasks.start_soon(pump_stdin)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                read_stream.close()
                write_stream.close()
                with anyio.move_on_after(0.5):
                    await writer_done.wait()
                stdin.close()
                exited = await _exited(process, EXIT_GRACE_S)
                if not exited or group_alive(process.pid):
                    await end_group(process)
                await asyncio.sleep(0)
            tasks.cancel_scope.cancel()
