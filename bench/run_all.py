"""Run every benchmark and write docs/benchmarks.json and docs/benchmarks.md (issue 8).

Each script prints a last line ``RESULTS [...]`` (see bench/common.py). A script that
fails is reported in both files with its error, never dropped.

With --only, the other scripts' figures already in docs/benchmarks.json are kept.

Usage: python bench/run_all.py [--only streaming,scaling]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (script, arguments, what issue 8 calls it)
SCRIPTS: list[tuple[str, list[str], str]] = [
    ("streaming.py", [], "1-2. streaming throughput and time to first token"),
    ("peer.py", [], "3. a peer side by side: transformers serve"),
    ("ui_smoothness.py", [], "4. smoothness of the window while streaming"),
    ("code_highlight.py", [], "4. smoothness of the window while streaming"),
    ("ui_cold_start.py", [], "5. cold start and UI memory"),
    ("store_open.py", [], "6. conversation store: open"),
    ("store_search.py", [], "6. conversation store: search"),
    ("prepare_inputs.py", [], "7. preparation of inputs"),
    ("scaling.py", ["--runs", "2"], "8. scaling with context and images"),
    ("sparse_experts.py", [], "9. sparse experts: only the routed expert runs (issue 16)"),
    ("local_api.py", [], "10. the local API (maverick-desk serve)"),
    ("prompt_cache.py", [], "11. follow-up questions from the KV cache (issue 17)"),
    ("moe_launches.py", [], "12. experts at GPU speed: grouped matmuls, no host sync (issue 32)"),
    ("compiled_decode.py", ["--runs", "5"], "12. experts at GPU speed: a compiled decode step"),
    ("prefill_steps.py", ["--runs", "3"], "12. experts at GPU speed: prefill in bigger steps"),
    ("structured_decoding.py", [], "13. structured answers: constrained decoding (issue 35)"),
    ("documents.py", [], "14. whole documents: index, context, recall (issue 34)"),
    ("documents_cache.py", [], "14. whole documents: index, context, recall (issue 34)"),
    ("batch.py", ["--items", "200"], "15. batch jobs: throughput against a plain loop (issue 35)"),
    (
        "batch_kills.py",
        ["--items", "200", "--kills", "20"],
        "15. batch jobs: nothing lost under SIGKILL (issue 35)",
    ),
    ("send_turn.py", [], "16. the turn in which a question is sent (issue 33)"),
]


# Prose under the table: how figures that are not plain measurements were obtained.
NOTES = [
    "",
    "## Smoothness of the window (section 4)",
    "",
    "On 2026-12-03 the runs moved to an AMD EPYC machine, on which the code of 4f8be3d "
    "(every stall target met on the Xeon on 2026-12-01) measures 19.7-24.0 ms too: the "
    "machine, not a change, moved the figures. What was slow there: Pygments lexing all "
    "of an open code block at every drawing of the tail (about 7 ms for 900 characters of "
    "Python, linear in the block's length) and again, whole, when the block finished. The "
    "tail's code is now lexed in pieces of 8 lines kept between drawings, and a finished "
    "block is highlighted 4 ms a turn before it is drawn (`app/ui/markdown/`): the slowest "
    "single render of the synthetic answer went from 20-24 ms to 9.5-11 ms, and "
    "`bench/code_highlight.py` shows the tail of a 200-line block. The worst stalls did "
    "not follow (13-35 ms over three bench runs of three, p99 8-15 ms): sampling the "
    "main thread's stack shows them in the turn in which a question is sent (the new "
    "message views created and laid out by Qt, and the store's commits), and the demo "
    "scenario, whose answer is 53 characters on this machine (its random weights end it "
    "early on these CPU kernels), stalls as long as the synthetic one. Splitting that "
    "turn is what is left.",
    "",
    "## Sparse experts (section 9)",
    "",
    "`bench/sparse_experts.py` compares the sparse expert dispatch "
    "(`app/inference/sparse_experts.py`) with transformers' dense path on the 128-expert "
    "*wide* demo (`app/generators/demo_wide.py`: 128 routed experts top-1, hidden 512, expert "
    "intermediate 768, 4 layers of which 2 MoE, bf16, random weights), in one process, on one "
    "torch thread: the machine is shared, and with two threads each small matmul waits on "
    "OpenMP barriers for a descheduled thread. The limit is the same widths with one routed "
    "expert per MoE layer on the stock path. Peak memory is the growth of the resident set "
    "during the prefill (VmHWM reset through /proc/self/clear_refs). The 2026-12-01 run shared "
    "the machine with other work (load average about 16 on its 2 cores), so absolute tokens/s "
    "are low and vary; the ratios, taken run by run, much less.",
    "",
    "The Maverick figures are estimates, not measurements (`bench/maverick_estimate.py`): "
    "weight bytes a decoded token reads, from Maverick FP8's config (routed experts FP8 with "
    "per-channel scales, everything else bf16: attention 48 x 62.9 M, dense MLP 24 x 251.7 M, "
    "shared expert and router 24 x 126.5 M, lm_head 1.03 B parameters, plus 24 routed experts "
    "of 125.8 M in FP8 for top-1 or 24 x 128 of them for the dense path), divided by one "
    'H100\'s 3.35 TB/s at 70 %: `device_map="auto"` runs the layers in turn, so 8 GPUs add '
    "memory, not bandwidth. KV cache reads at short context and kernel launch overheads are "
    "left out; the dense path's 9,216 small FP8 matmuls a token make it slower than its "
    "bandwidth bound. `bash scripts/gpu-check.sh` measures the real widths on one GPU.",
    "",
    "## Follow-up questions from the KV cache (section 11)",
    "",
    "`bench/prompt_cache.py` runs two real workers on the demo checkpoint, one keeping its KV "
    "cache (the default) and one keeping none, and asks both the same ten-turn conversation: "
    "five 1280 x 960 photos and about 3,000 tokens of text in the first question, short "
    "follow-ups after, greedy, 16 new tokens, requests alternating between the two workers. "
    "Time to first token is the worker's own figure (from the request to the first token, "
    "chat template and image processing included). Each detail gives the machine's load "
    "average before and after: the runs shared 2 cores with other work, so absolute times "
    "vary a lot; the ratios, taken request by request, much less. The third panel of "
    "docs/scaling.png plots turn N with and without the cache (docs/scaling.md: the table).",
    "",
    "## Experts at GPU speed (section 12)",
    "",
    "`bench/moe_launches.py` builds the 128-expert wide demo twice (same seed): once with the "
    "per-expert loop of issue 16 (`MAVERICK_DESK_EXPERTS=loop`), once with the grouped "
    "matmuls (`app/inference/grouped_experts.py`, the default). Launches are counted with "
    "torch's profiler on the CPU: each outermost aten op called from Python that computes "
    "(views, allocations and no-op casts left out; `linear` or a grouped matmul count once, "
    "as they are one kernel on a GPU) in one decode forward of the language model, at 4 and "
    "8 layers of Maverick's pattern (MoE every other layer, NoPE every 4th), so that 48 "
    "layers = the fixed part + 12 periods of 4. Host syncs are counted the same way by "
    "`app/inference/host_syncs.py` (item, int, bool, tolist and ops sized by the data). These "
    "counts are of bf16 experts; FP8 experts add their activation quantisation, once per "
    "projection in the grouped path instead of once per Linear. The tokens/s ratios are CPU "
    "figures on one thread: the CPU's grouped_mm is itself a loop of one mm per expert, so "
    "they show the Python overhead removed, not what one CUTLASS kernel does on a GPU; "
    "`bash scripts/gpu-check.sh` measures that. For the same reason a single decoded token "
    "of small experts on the CPU gathers its expert's weights into one bmm instead (4 more "
    "launches per period than the loop, still no sync); on a GPU it takes the grouped "
    "matmul. The 2026-12-07 run shared its 2 cores with other work (load average about 11).",
    "",
    "`bench/compiled_decode.py` builds the same wide demo (grouped experts, sdpa) at 4 and 8 "
    "layers and compiles the decode step of `app/inference/compiled_decode.py` "
    "(`torch.compile(fullgraph=True)` over the static KV cache of "
    "`app/inference/static_cache.py`; inductor on the CPU). Its launches are inductor's fused "
    "C++ kernels (made profiler events by `cpp.enable_kernel_profile`) plus the outermost aten "
    "ops the graph calls out to that compute (matmuls, grouped matmuls, attention), in one "
    "step, extrapolated to 48 layers as above: they are the kernels inside the graph; with "
    "CUDA graphs the host issues one replay a device per token instead. Graph breaks are "
    "`torch._dynamo.explain`'s; the graphs compiled while decoding at moving positions show "
    "that the position never recompiles the step. Tokens/s are decoded tokens from the "
    "first to the last, the compiled step against transformers' `generate` "
    "(`MAVERICK_DESK_COMPILE=off`), alternating run by run after the same 300-token prompt, "
    "one thread; on this tiny model both are host-bound, so the ratio is the Python and "
    "dispatch overhead removed. Greedy tokens are compared too: on random weights the "
    "compiled kernels' bf16 rounding can part from eager at a near-tie (README, Models and "
    "precision).",
    "",
    "The prefill row compares the engine as it loads a model now with the engine before "
    "issue 32, each prefilling 2,048 random tokens of the wide demo as the engine does "
    "(steps into a recording cache, the history bounded after each, the last 512 tokens "
    "through `prefill_logits`): now grouped experts, the chunked layers window by window "
    "(`app/inference/window_attention.py`) and the step `StepPlanner` picks (8,192, so one "
    "step of 1,536 and the last 512); before the per-expert loop, transformers' mask and "
    "512-token steps. 2.06 times as fast (2026-12-07 19:15, a quiet machine), short of the "
    "issue's 3. Where it goes, profiled once (64 ms for 2,048 tokens): sdpa 25 ms, of which "
    "the one full-attention (NoPE) layer is about 15 (its last 512 queries over all 2,048 "
    "keys, masked) and 24 window blocks of the three chunked layers about 10; the grouped "
    "experts' matmuls 23 ms, because on the CPU `grouped_mm` is itself one `aten::mm` per "
    "expert (about 1,000 calls of some 20 us at these sizes, as many as the loop makes). "
    "The grouped experts alone (same mask and steps as before) are 1.22 times as fast: the "
    "loop's Python, slicing and host syncs are gone, the matmul time stays; the MoE layer on "
    "its own (the row 'MoE layer prefill speed per 512 tokens': router, shared expert and "
    "routed experts on 512 hidden states, 116 of 128 experts hit) 1.5 times. The matmuls "
    "are the part a CUTLASS grouped kernel replaces with one launch on a GPU (launches per "
    "512 prompt tokens per MoE layer: 21 instead of 487); `bash scripts/gpu-check.sh` times "
    "it per kind of layer there. The window blocks replace the masked rectangle the chunked "
    "layers computed over transformers' mask (a single forward of 2,048 tokens: 29 ms of "
    "sdpa per chunked layer against about 3 for its eight 256-token blocks) and the mask "
    "itself (about 15 % of such a forward before). Nothing here is tuned to the demo: the demo's "
    "256-token window plays the part of Maverick's 8,192 at a 64,000-token document (README,"
    " What to expect: the same arithmetic at Maverick's widths); gathering each token's "
    "expert weights into one bmm would win on the CPU at hidden 64 and is impossible at "
    "Maverick's widths. The last logits of the engine and of the engine before differ by "
    "0.0044, within bf16 rounding (eps 0.0078).",
    "",
    "`bench/prefill_steps.py` prefills 8,192 random tokens of the same wide demo, given "
    "Maverick's chunked-attention window of 8,192 (the demo's is 256), as the engine does "
    "(`prefill_chunks`, the history bounded after each forward, the last chunk through "
    "`prefill_logits`, the chunked layers window by window), in steps of 512, 2,048 and "
    "8,192 tokens, alternating, one thread; `StepPlanner` (`app/inference/prefill.py`) "
    "picks 8,192 on this machine. On the CPU the difference is attention's, not the "
    "per-forward overhead's: profiled once each before the window blocks (noisy), the "
    "512-token steps spent about 0.27 s of 1.4 s building masks for their 16 forwards and "
    "one 8,192-token step about 0.05 s (its one forward from position 0 runs sdpa causal, "
    "without a mask), matmuls 0.1-0.2 s either way; 2,048-token steps were no faster than "
    "512. Window by window (2026-12-07 19:15) the ratio is 1.54, as before (1.58): within "
    "one window every step is a single block, so the blocks change nothing here; the "
    "full-attention layer's masks stay. On a GPU the reason for big steps is another: a "
    "512-token step of Maverick hits nearly every expert, so each step reads nearly all "
    "400 GB of weights, and bigger steps read them once for more tokens (README, What to "
    "expect: an estimate). "
    "The last logits of the three step sizes were equal here (a cold prefill from 0 on one "
    "thread); tests/inference/test_prompt_cache.py shows a warm follow-up resuming inside a "
    "2,048-token step differing from a cold prefill by 0.005 (README, Models and "
    "precision).",
    "",
    "## Structured answers: constrained decoding (section 13)",
    "",
    "`bench/structured_decoding.py` asks the demo checkpoint (bf16, in process, one torch "
    "thread) for answers constrained to a schema with every field type (text, number, date, "
    "yes/no, list, one-of; xgrammar's mask, the UTF-8 guard, then temperature 0.6 and top-p "
    "0.9 applied after the mask by `app/inference/constrained.py`) and, alternating, for free "
    "answers of the same length with the same seed. The first figure is the median of the "
    "pair-by-pair ratios of decode time per token; on a shared 2-core machine single pairs "
    "swing by tens of percent either way. The second times the constraint itself, around "
    "each call of its logits processor, per token, as a share of a free token's decode time: "
    "the part of the difference that is the constraint's and not the machine's. The demo's "
    "vocabulary has 554 tokens; Maverick's 202,048 make the mask larger (xgrammar fills it "
    "in C++, and on a GPU it is applied by a kernel), which the demo cannot measure.",
    "",
    "## Batch jobs (section 15)",
    "",
    "`bench/batch.py --items 200` runs one batch job of 200 images through `run_job` (its "
    "SQLite claim and commit of every result) on its own thread and, after each item is "
    "committed, holds the job and sends the same request through `WorkerClient` in a plain "
    "loop: the two take turns item by item. A job item's time runs from its claim to the end "
    "of its commit; the hold between items is left out. The first 200-item run on 2026-12-07 "
    "took turns by chunks of 10 (a new job a chunk) and gave 0.39 (job 0.67 items/s, loop "
    "1.74 requests/s, load average 5.9): timing its phases showed the difference in the "
    "answers themselves, with claim and commit at 1-7 ms an item, while single chunks of the "
    "same 10 requests took 3 to 27 s as other jobs came and went on the 2 shared cores. "
    "Item by item that swing hits both alike. A figure above 1 says the bookkeeping costs "
    "less than what is left of that noise, not that a job is faster than a loop: item by "
    "item, the branch's code gave 1.118 at 16:06 UTC (load average 2.8) and, merged with "
    "main's Sampling engines, 1.053 at 16:20 UTC (load average 2.4), the figure in the table.",
    "",
    "`bench/batch_kills.py --items 200 --kills 20` runs `maverick-desk batch` over 200 images "
    "(demo bf16, 2 new tokens) and, each time at least 2 more results are saved, SIGKILLs in "
    "turn the command alone (its worker, orphaned, must exit by itself within 60 s) and the "
    "worker alone (the command must say how to go on and exit 1), then resumes with "
    "`--resume`. Each kill is checked to have hit a running job with exactly one worker; "
    "the results saved are noted after every kill and compared at the end (finish time and "
    "text), and SQLite's integrity_check is run. The items in flight at the kills ran "
    "again, as they should (240 attempts for 200 items in both runs). An earlier run that "
    "waited for 4 new results a kill ran out of items after 36 kills: items also finish "
    "between a poll and the kill, so it now waits for 2 and polls every 50 ms. Runs: "
    "16:06 UTC (563 s, before merging main) and 16:21 UTC (818 s, merged, the table's).",
    "",
    "## The turn in which a question is sent (issue 33)",
    "",
    "`bench/ui_smoothness.py` now also reports how long `window.send()` holds the main "
    "thread (the send turn: the session's question and answer, their views, the saver's "
    "first sync). On 2026-12-07 10:01-10:10 UTC, AMD EPYC, 2 cores shared with other jobs "
    "(load average about 13), `QT_QPA_PLATFORM=offscreen .venv/bin/python "
    "bench/ui_smoothness.py --runs 3 --new-tokens 300`, back to back: before the window "
    "used `ChatSession` (c321f1d) 17.9, 12.2, 37.6 ms per run; after (5f5e782) 15.9, 38.7, "
    "26.5 ms. On this loaded machine the two are the same within noise: the refactor moved "
    "the request state, not the work of that turn (two message views and a store sync). "
    "Splitting that turn is still what is left.",
    "",
    "On 2026-12-07 12:48-12:50 UTC, same machine (load average about 7), the send turn's "
    "stack under cProfile showed its largest part in `ConversationLibrary._set_current`: "
    "`store.set_last_opened_conversation`, a SQLite commit on the main thread each time the "
    "first question of a chat creates a conversation (about 16 ms of waiting a send, little "
    "CPU). That write now goes to the store's writer thread, after the saves before it. "
    "`bench/send_turn.py` sends 20 short questions (a new chat before each) and reports the "
    "median and worst wall time of `window.send()` and its main-thread CPU time; "
    "`QT_QPA_PLATFORM=offscreen .venv/bin/python bench/send_turn.py`, back to back: before "
    "(the commit on the main thread) median 18.3 ms, worst 60.4 ms, CPU 5.3 ms; after, "
    "median 8.5 ms, worst 39.1 ms, CPU 5.1 ms. The CPU time is the two message views and "
    "the saver's first sync handed to its thread; the worst single sends still follow the "
    "machine's load.",
    "",
    "On 2026-12-07 15:21-15:22 UTC, same machine, quiet (load average about 1), the same two "
    "commands on 0acbd43: `bench/send_turn.py` median 5.9 ms, worst 11.1 ms, CPU 5.6 ms; "
    "`bench/ui_smoothness.py --runs 3 --new-tokens 300` send turn per run 5.8, 4.2, 4.4 ms. "
    "Both meet the 16 ms target when the machine is not shared. The table's rows for "
    "sections 4 and 16 are from `bench/run_all.py --only send_turn,ui_smoothness` at "
    "15:23-15:24 UTC, load average about 1: every stall target of section 4 met, the "
    "worst send turn 10.9 ms.",
    "",
    "On 2026-12-07 16:02 UTC, same machine (2 cores shared with other work), after the "
    "tool loop and the sampling settings moved into app/chat and app/vocabulary (branch "
    "h33-core): `QT_QPA_PLATFORM=offscreen .venv/bin/python bench/send_turn.py --sends "
    "20` gave median 6.5 ms (target ≤ 16 ms: met), worst 25.0 ms, main-thread CPU 5.2 ms. "
    "Under cProfile (10 sends, about 7.5 ms each with the profiler's cost) what still "
    "runs in the send turn on the main thread is the two message views (`UserMessageView` "
    "about 2.1 ms, `AssistantMessageView` about 1.8 ms, of which each `SafeTextBrowser` "
    "about 0.75 ms and each `VersionSwitcher`, built while hidden for a message with one "
    "version, about 0.5 ms), inserting them into the transcript's layout (about 1.1 ms), "
    "the request written to the worker's pipe (about 0.5 ms) and the context meter's "
    "update (about 0.5 ms). Building the version switcher only when a message has a "
    "second version is the next step there.",
]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("maverick-desk", "torch", "transformers", "PySide6-Essentials", "openai"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def utc_now() -> str:
    """The date and time a run is stamped with ("2026-12-03 07:33 UTC")."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores{memory}, no GPU"
    )


def run(script: str, args: list[str]) -> tuple[list[dict[str, object]], str, float]:
    started = time.perf_counter()
    path = ROOT / "bench" / script
    if not path.is_file():
        return [], f"{script} does not exist", 0.0
    proc = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, cwd=ROOT, timeout=3600
    )
    took = time.perf_counter() - started
    sys.stdout.write(proc.stdout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULTS "):
            return json.loads(line[len("RESULTS ") :]), "", took
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return [], f"{script} exited with {proc.returncode}: {' | '.join(tail)}", took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated script names without .py")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    report: dict[str, object] = {
        "date": utc_now(),
        "machine": machine(),
        "versions": versions(),
        "command": "bash scripts/run-benchmarks.sh",
        "results": [],
        "failures": [],
    }
    results: list[dict[str, object]] = []
    failures: list[dict[str, str]] = []
    for script, script_args, section in SCRIPTS:
        if wanted and script.removesuffix(".py") not in wanted:
            continue
        print(f"==> {script}", flush=True)
        found, error, took = run(script, script_args)
        for item in found:
            item["section"] = section
            item["script"] = f"bench/{script}"
            item["measured"] = f"{report['date']} on {report['machine']}"
        results.extend(found)
        if error:
            failures.append({"script": f"bench/{script}", "error": error})
            print(f"FAILED: {error}", flush=True)
        print(f"    ({took:.0f} s)", flush=True)
    docs = ROOT / "docs"
    if wanted:
        results, failures = _merged(docs / "benchmarks.json", results, failures, wanted)
        earlier = docs / "benchmarks.json"
        if earlier.is_file():
            first = json.loads(earlier.read_text(encoding="utf-8")).get("date", "")
            again = ", ".join(sorted(wanted))
            report["date"] = f"{first.split(' (')[0]} ({again}: {report['date']})"
    report["results"] = results
    report["failures"] = failures
    (docs / "benchmarks.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (docs / "benchmarks.md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {docs / 'benchmarks.json'} and {docs / 'benchmarks.md'}")
    return 1 if failures else 0


def _merged(
    path: Path, results: list[dict[str, object]], failures: list[dict[str, str]], wanted: set[str]
) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """The earlier report's figures of the scripts not run now, then the new ones, in order."""
    if not path.is_file():
        return results, failures
    earlier = json.loads(path.read_text(encoding="utf-8"))

    def kept(item: dict[str, Any]) -> bool:
        return Path(str(item.get("script", ""))).stem not in wanted

    order = [f"bench/{script}" for script, _, _ in SCRIPTS]
    where = f"{str(earlier.get('date', '')).split(' (')[0]} on {earlier.get('machine', '')}"
    merged = [{"measured": where, **r} for r in earlier.get("results", []) if kept(r)] + results
    merged.sort(key=lambda r: order.index(str(r["script"])) if r["script"] in order else 99)
    return merged, [f for f in earlier.get("failures", []) if kept(f)] + failures


def _measured(report: dict[str, object]) -> list[str]:
    """When and where the figures were measured: one line, or one per run of `--only`."""
    groups: dict[str, list[str]] = {}
    for r in report["results"]:  # type: ignore[attr-defined]
        where = str(r.get("measured", f"{report['date']} on {report['machine']}"))
        scripts = groups.setdefault(where, [])
        if Path(r["script"]).stem not in scripts:
            scripts.append(Path(r["script"]).stem)
    if len(groups) <= 1:
        return [f"Measured {next(iter(groups), report['date'])}."]
    lines = ["Measured in several runs (`--only` re-runs some scripts and keeps the rest):", ""]
    lines += [f"- {where}: {', '.join(scripts)}" for where, scripts in groups.items()]
    return [*lines, ""]


def markdown(report: dict[str, object]) -> str:
    lines = [
        "# Benchmarks",
        "",
        *_measured(report),
        "Versions: " + ", ".join(f"{k} {v}" for k, v in dict(report["versions"]).items()) + ".",  # type: ignore[call-overload]
        f"Regenerate with `{report['command']}`. Figures are medians unless the detail says "
        "otherwise; the demo checkpoint runs on the CPU, so absolute speeds say nothing about "
        "Maverick on GPUs, while the ratios and overheads are what the app adds.",
        "",
        "| section | figure | value | target | met | detail |",
        "| --- | --- | ---: | --- | --- | --- |",
    ]
    for r in report["results"]:  # type: ignore[attr-defined]
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['section']} | {r['name']} | {r['value']:.4g} {r['unit']} | "
            f"{r['target'] or '—'} | {met} | {r['detail']} |"
        )
    lines += NOTES
    failures = report["failures"]
    if failures:
        lines += ["", "## Scripts that failed", ""]
        lines += [f"- `{f['script']}`: {f['error']}" for f in failures]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
