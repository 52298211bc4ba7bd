"""How far a download is: per file and in total, the speed and the time left."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from app.checkpoints.checkpoint import human_bytes

DOWNLOADING = "downloading"
CHECKING = "checking"  # the finished file's checksum is computed
CHECKED = "checked"  # the file matched the hub's checksum and is in place
FINISHED = "finished"  # every file is in place and checked


@dataclass(frozen=True)
class Progress:
    """One report: the file in hand, the whole download, the speed (bytes/s) and time left."""

    file: str
    file_done: int
    file_total: int
    done: int
    total: int
    files_done: int
    files_total: int
    speed: float
    eta_s: float | None  # None while the speed is not known yet
    stage: str = DOWNLOADING

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def file_fraction(self) -> float:
        return self.file_done / self.file_total if self.file_total else 1.0

    def summary(self) -> str:
        """'1.2 GiB of 400.0 GiB (0%) · 85.3 MiB/s · 1 h 20 min left'."""
        parts = [f"{human_bytes(self.done)} of {human_bytes(self.total)} ({self.fraction:.0%})"]
        if self.speed > 0:
            parts.append(f"{human_bytes(self.speed)}/s")
        if self.eta_s is not None:
            parts.append(f"{format_duration(self.eta_s)} left")
        return " · ".join(parts)


def format_duration(seconds: float) -> str:
    """3725 -> '1 h 02 min'; 200 -> '3 min 20 s'; 12 -> '12 s'."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


class SpeedMeter:
    """Bytes per second over the last `window_s` seconds (resumed bytes do not count)."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()
        self._received = 0

    def add(self, now: float, nbytes: int) -> None:
        self._received += nbytes
        self._samples.append((now, self._received))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def speed(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self, remaining: int) -> float | None:
        speed = self.speed()
        return remaining / speed if speed > 0 else None
