"""The chat room imports and runs a session in an interpreter where Qt cannot be imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_chat_room_runs_where_qt_cannot_be_imported() -> None:
    script = textwrap.dedent(
        """
        import importlib.abc, sys

        class NoQt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "qasync", "shiboken6", "torch"):
                    raise ImportError(name)

        sys.meta_path.insert(0, NoQt())
        import app.chat.engine, app.chat.session, app.chat.tool_answer, app.chat.vocabulary
        from app.chat.session import ChatSession

        class Echo:
            def generate(self, messages, *, request_id=None, **kw):
                return request_id
            def cancel(self, request_id):
                pass

        session = ChatSession(Echo())
        session.send("Hi")
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "torch")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr
