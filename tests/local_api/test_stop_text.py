"""Stop strings found across streamed deltas, and nothing of them sent."""

from __future__ import annotations

from app.local_api.stop_text import StopMatcher


def run(stops: tuple[str, ...], deltas: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    sent = "".join(matcher.feed(delta) for delta in deltas) + matcher.flush()
    return sent, matcher.stopped


def test_no_stops_passes_everything() -> None:
    assert run((), ["a", "b"]) == ("ab", False)


def test_stop_inside_one_delta() -> None:
    assert run(("END",), ["hello END world"]) == ("hello ", True)


def test_stop_split_across_deltas_is_held_back() -> None:
    matcher = StopMatcher(("STOP",))
    assert matcher.feed("abc ST") == "abc "
    assert matcher.feed("O") == ""
    assert matcher.feed("P and more") == ""
    assert matcher.stopped and matcher.feed("x") == "" and matcher.flush() == ""


def test_false_start_is_released() -> None:
    assert run(("STOP",), ["ST", "ILL"]) == ("STILL", False)
    assert run(("STOP",), ["abc S"]) == ("abc S", False)


def test_earliest_of_several_stops_wins() -> None:
    assert run(("b", "xyz"), ["axyzb"]) == ("a", True)
