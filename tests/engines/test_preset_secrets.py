"""A hosted provider's key reaches the provider and nothing else the app writes.

Every hosted preset answers once and fails once (a 401 whose body repeats the key, as
some providers do) with the log at DEBUG; then the settings are saved the way the
window saves them, the conversation is stored and exported as JSON, Markdown and
HTML, and every file under the test's folder is searched for the key.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.engines.openai_client import ask_server
from app.engines.presets import PRESETS
from app.logs import setup_logging
from app.storage.html_export import export_html
from app.storage.json_export import export_json
from app.storage.markdown_export import export_markdown
from app.storage.records import MessageStatus
from app.storage.store import ConversationStore
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from tests.engines.hosted_provider import Answer, error_json, running

SECRET = "sk-leakcheck-77c1d0e5b9a84f21-must-stay-in-memory"
HOSTED = [preset for preset in PRESETS if preset.hosted]


@pytest.fixture
def debug_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app's rotating log file in the test folder, at DEBUG (openai and httpx included)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = [h for h in root.handlers if not isinstance(h, logging.FileHandler)]
    monkeypatch.setenv("MAVERICK_DESK_LOG_LEVEL", "DEBUG")
    path = setup_logging(tmp_path / "logs")
    assert path is not None
    yield path
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.close()
    root.handlers, level = saved
    root.setLevel(level)


def test_the_key_is_in_no_log_settings_file_or_export(
    tmp_path: Path, debug_log: Path, images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ui.engine.engine_store import SERVER, EngineStore
    from app.ui.settings.settings_store import SettingsStore

    store = ConversationStore.open(tmp_path / "data")
    answers: dict[str, str] = {}
    try:
        for preset in HOSTED:
            monkeypatch.setenv(str(preset.api_key_env), SECRET)
            with running(preset.name) as provider:
                settings = preset.settings(base_url=provider.root + urlsplit(preset.base_url).path)
                provider.answer(
                    Answer(),
                    Answer(401, error_json(message=f"Incorrect API key provided: {SECRET}")),
                )
                turn = p.ChatTurn("user", f"Describe this for {preset.title}.",
                                  [str(images["wide"])])  # fmt: skip
                events: list[p.Message] = []
                done = ask_server(
                    settings, [turn], events.append, sampling=Sampling(max_new_tokens=8)
                )
                failed = ask_server(
                    settings, [turn], events.append, sampling=Sampling(max_new_tokens=8)
                )
            assert isinstance(done, p.Done) and isinstance(failed, p.Error), failed
            assert failed.error_kind == "unauthorized" and SECRET not in failed.message
            # The provider did get the key: it is in memory, and sent, and nowhere else.
            sent = provider.seen[0].headers
            assert SECRET in (sent.get("authorization", "") + sent.get("api-key", ""))
            text = "".join(e.text for e in events if isinstance(e, p.Token))
            answers[preset.name] = text

            conversation = store.create_conversation(preset.title, settings.to_dict())
            store.add_user_message(conversation, turn.text, [images["wide"]])
            reply = store.begin_assistant_message(conversation)
            store.finish_assistant_message(reply, MessageStatus.COMPLETE, text=text)
            store.add_user_message(conversation, turn.text)
            error = store.begin_assistant_message(conversation)
            store.finish_assistant_message(error, MessageStatus.ERROR, text=failed.message)

            engines = EngineStore(SettingsStore(tmp_path / f"settings-{preset.name}.ini"))
            engines.save_engine(SERVER, settings)
            assert engines.server_settings().base_url == settings.base_url
        ids = [summary.id for summary in store.list_conversations()]
        export_json(store, ids, tmp_path / "exports" / "all.json")
        for conversation_id in ids:
            export_markdown(store, conversation_id, tmp_path / "exports" / f"{conversation_id}.md")
            export_html(store, conversation_id, tmp_path / "exports" / f"{conversation_id}.html")
    finally:
        store.close()
    for handler in logging.getLogger().handlers:
        handler.flush()

    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    log_text = debug_log.read_text(encoding="utf-8")
    assert "request" in log_text and "failed (unauthorized)" in log_text  # it did log
    assert len(ids) == len(HOSTED) and all(answers.values())
    assert any(path.suffix == ".ini" for path in written)
    exported = {suffix: [path for path in written if path.suffix == suffix]
                for suffix in (".json", ".md", ".html")}  # fmt: skip
    assert [len(exported[".md"]), len(exported[".html"])] == [len(ids), len(ids)], exported
    assert exported[".json"]
    leaks = [str(path) for path in written if SECRET.encode() in path.read_bytes()]
    assert leaks == []
