"""`LineSplitter` and `oversized_reply`: a stdio server's output read within a bound."""

from __future__ import annotations

import json

from app.tools.message_bounds import OVERSIZED_META, LineSplitter, Oversized, oversized_reply


def test_lines_split_across_chunks_come_out_whole() -> None:
    splitter = LineSplitter(limit=100)
    assert splitter.feed(b'{"a"') == []
    assert splitter.feed(b': 1}\n{"b": 2}\n{"c"') == [b'{"a": 1}', b'{"b": 2}']
    assert splitter.feed(b": 3}\n") == [b'{"c": 3}']


def test_a_line_past_the_limit_keeps_only_its_head_tail_and_size() -> None:
    splitter = LineSplitter(limit=1000, head_bytes=50)
    out: list[bytes | Oversized] = []
    for _ in range(100):
        out += splitter.feed(b"x" * 999)
        assert splitter._size <= 100 * 999 and sum(map(len, splitter._parts)) <= 1000
    out += splitter.feed(b"END\nnext\n")
    first, second = out
    assert isinstance(first, Oversized)
    assert first.size == 99_903 and len(first.head) == 50 and first.tail.endswith(b"xEND")
    assert second == b"next"  # the line after it is read as usual


def _reply(text_json: str, id_last: bool = False) -> Oversized:
    head = '{"jsonrpc": "2.0", ' + ("" if id_last else '"id": 7, ')
    line = head + '"result": {"content": [{"type": "text", "text": "' + text_json
    tail = '"}], "isError": false' + (', "id": "r-7"' if id_last else "") + "}"
    return Oversized(line.encode(), tail.encode(), 50_000_000)


def test_an_oversized_result_keeps_its_first_text_and_the_true_size() -> None:
    reply = oversized_reply(_reply("caf\\u00e9 and \\n more \\u00"))  # cut inside an escape
    assert reply is not None and reply["id"] == 7
    assert reply["result"]["content"][0]["text"] == "café and \n more "
    assert reply["result"]["_meta"] == {OVERSIZED_META: 50_000_000}
    json.dumps(reply)  # the session parses it as any other reply


def test_the_id_is_found_at_the_end_when_a_server_writes_it_last() -> None:
    reply = oversized_reply(_reply("abc", id_last=True))
    assert reply is not None and reply["id"] == "r-7"


def test_an_oversized_message_that_is_no_result_becomes_an_error_or_is_dropped() -> None:
    head = b'{"jsonrpc": "2.0", "id": 3, "error": {"x'
    error = oversized_reply(Oversized(head, b"}", 20_000_000))
    assert error is not None and "20,000,000 bytes" in error["error"]["message"]
    notification = Oversized(b'{"jsonrpc": "2.0", "method": "notifications/message"', b"}", 10**8)
    assert oversized_reply(notification) is None
