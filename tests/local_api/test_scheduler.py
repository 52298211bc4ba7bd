"""The scheduler's order, without threads: the window first, API requests in arrival order."""

from __future__ import annotations

import asyncio

import pytest

from app.local_api.scheduler import Lane, QueueFull, Scheduler, ServingState


def test_first_request_runs_at_once_then_fifo() -> None:
    scheduler = Scheduler(max_waiting=3)
    first, second, third = (scheduler.submit(Lane.API) for _ in range(3))
    assert first.granted and not second.granted and not third.granted
    scheduler.release(first)
    assert second.granted and not third.granted
    scheduler.release(second)
    assert third.granted


def test_window_takes_the_next_slot_but_never_preempts() -> None:
    scheduler = Scheduler(max_waiting=3)
    running = scheduler.submit(Lane.API)
    queued = scheduler.submit(Lane.API)
    window = scheduler.submit(Lane.WINDOW)
    assert running.granted and not window.granted  # the running answer is not interrupted
    assert scheduler.state().busy_serving_client
    scheduler.release(running)
    assert window.granted and not queued.granted
    assert not scheduler.state().busy_serving_client
    scheduler.release(window)
    assert queued.granted


def test_full_queue_refuses_with_a_retry_time() -> None:
    scheduler = Scheduler(max_waiting=1)
    scheduler.submit(Lane.API)
    scheduler.submit(Lane.API)
    with pytest.raises(QueueFull) as caught:
        scheduler.submit(Lane.API)
    assert caught.value.waiting == 1 and caught.value.retry_after_s >= 1
    assert scheduler.submit(Lane.WINDOW)  # the window is never refused


def test_a_waiting_request_can_give_up() -> None:
    scheduler = Scheduler(max_waiting=2)
    running = scheduler.submit(Lane.API)
    leaving = scheduler.submit(Lane.API)
    staying = scheduler.submit(Lane.API)
    scheduler.release(leaving, served=False)
    assert scheduler.state().waiting_api == 1
    scheduler.release(running)
    assert staying.granted
    scheduler.release(running)  # twice: nothing happens
    assert scheduler.state().running is Lane.API


def test_counts_and_listeners() -> None:
    scheduler = Scheduler()
    seen: list[ServingState] = []
    unsubscribe = scheduler.subscribe(seen.append)
    served = scheduler.submit(Lane.API)
    scheduler.release(served)
    cancelled = scheduler.submit(Lane.API)
    scheduler.release(cancelled, served=False)
    window = scheduler.submit(Lane.WINDOW)
    scheduler.release(window)
    state = scheduler.state()
    assert (state.served_api, state.served_window, state.running) == (1, 1, None)
    assert [s.running for s in seen] == [Lane.API, None, Lane.API, None, Lane.WINDOW, None]
    unsubscribe()
    scheduler.release(scheduler.submit(Lane.API))
    assert len(seen) == 6


def test_wait_async_wakes_when_granted() -> None:
    scheduler = Scheduler()

    async def scenario() -> list[str]:
        order: list[str] = []
        first = scheduler.submit(Lane.API)
        second = scheduler.submit(Lane.API)

        async def wait_second() -> None:
            await second.wait_async()
            order.append("second")

        task = asyncio.create_task(wait_second())
        await first.wait_async()
        order.append("first")
        await asyncio.sleep(0.01)
        assert not task.done()
        scheduler.release(first)
        await asyncio.wait_for(task, 5)
        return order

    assert asyncio.run(scenario()) == ["first", "second"]
