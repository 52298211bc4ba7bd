"""Run every benchmark and write docs/benchmarks.json and docs/benchmarks.md (issue 8).

Each script prints a last line ``RESULTS [...]`` (see bench/common.py). A script that
fails is reported in both files with its error, never dropped.

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

ROOT = Path(__file__).resolve().parent.parent

# (script, arguments, what issue 8 calls it)
SCRIPTS: list[tuple[str, list[str], str]] = [
    ("streaming.py", [], "1-2. streaming throughput and time to first token"),
    ("peer.py", [], "3. a peer side by side: transformers serve"),
    ("ui_smoothness.py", [], "4. smoothness of the window while streaming"),
    ("ui_cold_start.py", [], "5. cold start and UI memory"),
    ("store_open.py", [], "6. conversation store: open"),
    ("store_search.py", [], "6. conversation store: search"),
    ("prepare_inputs.py", [], "7. preparation of inputs"),
    ("scaling.py", ["--runs", "2"], "8. scaling with context and images"),
    ("local_api.py", [], "9. the local API (maverick-desk serve)"),
]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("maverick-desk", "torch", "transformers", "PySide6-Essentials", "openai"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


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
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
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
        results.extend(found)
        if error:
            failures.append({"script": f"bench/{script}", "error": error})
            print(f"FAILED: {error}", flush=True)
        print(f"    ({took:.0f} s)", flush=True)
    report["results"] = results
    report["failures"] = failures
    docs = ROOT / "docs"
    (docs / "benchmarks.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (docs / "benchmarks.md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {docs / 'benchmarks.json'} and {docs / 'benchmarks.md'}")
    return 1 if failures else 0


def markdown(report: dict[str, object]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {report['date']} on {report['machine']}.",
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
    failures = report["failures"]
    if failures:
        lines += ["", "## Scripts that failed", ""]
        lines += [f"- `{f['script']}`: {f['error']}" for f in failures]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
