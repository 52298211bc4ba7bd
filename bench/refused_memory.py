"""Worker memory around a refused oversized request (issue 31).

A real worker with the demo checkpoint is loaded and warmed up with one short answer; its
resident memory (RSS) then is "idle". A user message of `--mib` MiB of text is sent
straight to the worker (as the window would), then the same through the local API
(as any HTTP client could), each followed by one short answer. For each the script prints
the seconds to the refusal, the worker's peak RSS while it was refused and its RSS once
refused. Target: within 10 % of idle afterwards.

Usage: python bench/refused_memory.py [--mib 20]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit  # noqa: E402

MIB = 1 << 20


class Sampler:
    """The peak RSS of one process, sampled every 10 ms while in a `with` block."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def __enter__(self) -> Sampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.rss())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, default=20.0, help="size of the message (20)")
    args = parser.parse_args()

    import httpx2

    from app.engines.managed_server import free_port
    from app.local_api.serving import LocalApi, ServeOptions
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    api = LocalApi(ServeOptions(port=free_port()))
    api.start()
    results: list[Result] = []
    try:
        api.load(demo_root() / "bf16")
        assert api.client.pid is not None
        sampler_pid = api.client.pid
        body = {"model": api.model.model_id, "max_tokens": 2, "temperature": 0}
        url = api.base_url + "/chat/completions"

        def short_answer() -> None:
            reply = httpx2.post(url, json={**body, "messages": [{"role": "user", "content": "Hi"}]},
                                timeout=120)  # fmt: skip
            assert reply.status_code == 200, reply.text

        short_answer()
        time.sleep(1.0)
        idle = Sampler(sampler_pid).rss()
        print(f"worker idle: {idle / MIB:.0f} MiB")
        text = "word " * int(args.mib * MIB / 5)

        def direct() -> str:
            events: list[p.Message] = []
            done = threading.Event()
            rid = "probe-direct"

            def sink(event: p.Message) -> None:
                events.append(event)
                done.set()

            api.router.route(rid, sink)
            api.client.send(p.Generate(rid, [p.ChatTurn("user", text)], Sampling(8)))
            done.wait(600)
            api.router.drop(rid)
            return getattr(events[-1], "message", events[-1].kind)

        def through_api() -> str:
            reply = httpx2.post(url, json={**body, "messages": [{"role": "user", "content": text}]},
                                timeout=600)  # fmt: skip
            return f"{reply.status_code} {reply.json()['error']['message']}"

        for name, send in [("worker protocol", direct), ("local API", through_api)]:
            with Sampler(sampler_pid) as sampler:
                started = time.perf_counter()
                answer = send()
                took = time.perf_counter() - started
            short_answer()
            time.sleep(1.0)
            after = sampler.rss()
            growth = 100 * (after - idle) / idle
            print(f"{name}: refused in {took:.2f} s: {answer[:160]}")
            detail = (f"{args.mib:g} MiB message; idle {idle / MIB:.0f} MiB, peak "
                      f"{sampler.peak / MIB:.0f} MiB, after {after / MIB:.0f} MiB")  # fmt: skip
            results += [
                Result(f"refused {args.mib:g} MiB ({name}): seconds", took, "s", detail=detail),
                Result(f"refused {args.mib:g} MiB ({name}): worker RSS growth", growth, "%",
                       target="<= 10", detail=detail).judged(),
            ]  # fmt: skip
    finally:
        api.close()
    emit(results)
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
