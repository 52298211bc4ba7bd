"""`ServerLog`: a tool server's log rotates at its size limit."""

from __future__ import annotations

from pathlib import Path

from app.tools.server_log import ServerLog


def test_the_log_rotates_to_one_backup_at_the_limit(tmp_path: Path) -> None:
    log = ServerLog(tmp_path / "mcp" / "s.log", max_bytes=1000)
    for number in range(50):
        log.write(f"line {number:03} " + "." * 90 + "\n")
    assert log.path.stat().st_size <= 1000 and log.backup.stat().st_size == 1000
    assert log.path.read_text().splitlines()[-1].startswith("line 049")
    assert sorted(p.name for p in log.path.parent.iterdir()) == ["s.log", "s.log.1"]
    log.write("x" * 5000)  # one write larger than the limit still stays within it
    assert log.path.stat().st_size <= 1000 and log.backup.stat().st_size <= 1000
