"""Benchmarks of openwebui-adapters against the libraries' own OpenAI paths, in one run.

`python benchmarks/run.py [--quick]` starts `benchmarks/server.py` in its own process, points every
contender at it, and writes `benchmarks/RESULTS.md`, `benchmarks/results.json` and
`benchmarks/chart.svg`. Timed sections interleave the contenders (round-robin, the order rotated
each repetition) so a noisy, shared machine slows all of them alike; results are medians, and the
pairs that matter are reported as ratios against their targets. See benchmarks/README.md.

This file is the driver: each section (`bench_<section>.py`) measures and renders its own part.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import bench_async
import bench_calls
import bench_connections
import bench_growth
import bench_headers
import bench_imports
import bench_knowledge
import bench_memory
import bench_proxy
import bench_streams
import chart
import meta
import report
from contenders import API_KEY, BUILDERS, Run, build_all

HERE = Path(__file__).resolve().parent


class Section(Protocol):
    """A `bench_<section>` module: it renders its part of the report from saved results."""

    NAME: str  # its key in results.json

    def render(self, results: dict[str, Any]) -> report.Part: ...


class MeasuredSection(Section, Protocol):
    """A section this run measures (knowledge is measured apart: online, `--knowledge`)."""

    def measure(self, run: Run) -> dict[str, Any]: ...


# The order the sections are measured in; `--sections` names a subset.
MEASURED: tuple[MeasuredSection, ...] = (
    bench_calls,
    bench_streams,
    bench_async,
    bench_growth,
    bench_connections,
    bench_imports,
    bench_memory,
    bench_headers,
    bench_proxy,
)
# The order RESULTS.md (and the chart) shows them in.
REPORTED: tuple[Section, ...] = (
    bench_calls,
    bench_streams,
    bench_async,
    bench_imports,
    bench_memory,
    bench_proxy,
    bench_growth,
    bench_connections,
    bench_headers,
    bench_knowledge,
)
# The order of their rows in the Targets table.
TARGETS: tuple[Section, ...] = (
    bench_calls,
    bench_streams,
    bench_imports,
    bench_async,
    bench_proxy,
    bench_growth,
    bench_connections,
    bench_headers,
    bench_knowledge,
)


class BenchServer:
    """`server.py` in its own process (its own GIL), on 127.0.0.1, stopped by PID."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        self.url = f"http://127.0.0.1:{line[1]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def render(results: dict[str, Any]) -> tuple[str, str]:
    """(RESULTS.md, chart.svg) from saved results: every section renders its part."""
    parts = {section.NAME: section.render(results) for section in REPORTED}
    markdown = report.render_markdown(
        results, list(parts.values()), [parts[section.NAME] for section in TARGETS]
    )
    svg = chart.render_svg(results, [panel for part in parts.values() for panel in part.panels])
    return markdown, svg + "\n"


def write_report(out: Path, results: dict[str, Any]) -> str:
    """RESULTS.md and chart.svg in `out`; returns the markdown."""
    markdown, svg = render(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text(markdown)
    (out / "chart.svg").write_text(svg)
    return markdown


def profile(url: str, key: str, calls: int, stream: bool) -> None:
    """cProfile `calls` calls (or streams) of one contender; prints the top of the profile."""
    import cProfile
    import pstats

    contender = BUILDERS[key](url)
    run: Callable[[], Any]
    if stream:
        assert contender.stream is not None
        run = lambda: sum(1 for _ in contender.stream(bench_streams.STREAM_CHUNKS))  # type: ignore[misc]  # noqa: E731
    else:
        assert contender.call is not None
        run = contender.call
    for _ in range(10):
        run()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        run()
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(30)


def knowledge(args: argparse.Namespace) -> None:
    """The online knowledge measurement, merged into the saved results.json (or printed)."""
    out = Path(args.out)
    saved_path = out / "results.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else None
    state_dir = os.environ.get("OPENWEBUI_STACK_STATE_DIR", "/tmp/openwebui-bench-stack")
    data = bench_knowledge.bench_knowledge(args.knowledge_reps, log, args.knowledge_url, state_dir)
    data["when"] = meta.now()
    if saved is None:
        print(json.dumps(data, indent=1))
        return
    saved["knowledge"] = data
    saved_path.write_text(json.dumps(saved, indent=1) + "\n")
    write_report(out, saved)
    print("\n".join(bench_knowledge.render(saved).lines))


def measure(args: argparse.Namespace, url: str, started: float) -> dict[str, Any]:
    """Build the contenders and measure the chosen sections, in order."""
    sections = [s for s in args.sections.split(",") if s]
    keys = [k for k in args.contenders.split(",") if k]
    results: dict[str, Any] = {"meta": meta.meta(args.quick)}
    contenders, missing = build_all(url, keys)
    # Everything imported and built so far (LiteLLM alone is hundreds of thousands of objects)
    # moves out of the collector's reach: the `gc.collect()` before each turn then costs
    # milliseconds, and a collection during a timed call scans only what the calls allocate.
    gc.collect()
    gc.freeze()
    results["missing"] = missing
    results["labels"] = {c.key: c.label for c in contenders} | {key: key for key in missing}
    log(f"server {url}; contenders: {', '.join(c.key for c in contenders)}")
    for key, reason in missing.items():
        log(f"skipped {key}: {reason}")
    run = Run(url, contenders, keys, args.quick, args.calls, log)
    for section in MEASURED:
        if section.NAME in sections:
            results[section.NAME] = section.measure(run)
    previous = Path(args.out) / "results.json"
    if previous.exists():  # the knowledge figures come from a separate (online) run: kept
        kept = json.loads(previous.read_text()).get("knowledge")
        if kept:
            results["knowledge"] = kept
    results["meta"]["load_after"] = meta.load()
    results["meta"]["duration_s"] = time.perf_counter() - started
    return results


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="openwebui-adapters benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a few minutes)")
    parser.add_argument(
        "--sections", default=",".join(s.NAME for s in MEASURED), help="comma-separated subset"
    )
    parser.add_argument("--contenders", default=",".join(BUILDERS), help="comma-separated subset")
    parser.add_argument(
        "--out", default=str(HERE), help="where RESULTS.md, results.json, chart.svg go"
    )
    parser.add_argument("--server", help="use a running server instead of starting one")
    parser.add_argument(
        "--knowledge",
        action="store_true",
        help="only the knowledge measurement, against a real Open WebUI (starts its own stack); "
        "merged into the saved results.json",
    )
    parser.add_argument("--knowledge-reps", type=int, default=5, help="uploads per way")
    parser.add_argument(
        "--knowledge-url", help="a running Open WebUI (key in OPENWEBUI_API_KEY) instead of a stack"
    )
    parser.add_argument("--profile", metavar="CONTENDER", help="cProfile one contender and exit")
    parser.add_argument("--stream", action="store_true", help="with --profile: profile streams")
    parser.add_argument("--calls", type=int, default=0, help="calls for --profile / memory")
    parser.add_argument(
        "--render",
        metavar="RESULTS_JSON",
        help="write RESULTS.md and chart.svg again from a saved results.json; measure nothing",
    )
    parser.add_argument(bench_memory.WORKER_FLAG, metavar="CONTENDER", help=argparse.SUPPRESS)
    parser.add_argument(bench_headers.WORKER_FLAG, metavar="CONTENDER", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if args.worker_headers:
        calls = args.calls or bench_headers.HEADERS_CALLS
        bench_headers.headers_worker(args.worker_headers, args.server, calls)
        return
    if args.worker_memory:
        calls = args.calls or bench_memory.MEMORY_CALLS
        bench_memory.memory_worker(args.worker_memory, args.server, calls)
        return
    if args.render:
        write_report(Path(args.out), json.loads(Path(args.render).read_text()))
        return
    if args.knowledge:
        knowledge(args)
        return

    started = time.perf_counter()
    server = None if args.server else BenchServer()
    url = args.server or server.url  # type: ignore[union-attr]
    os.environ["OPENWEBUI_SERVER_URL"] = url
    os.environ["OPENWEBUI_API_KEY"] = API_KEY
    try:
        if args.profile:
            profile(url, args.profile, args.calls or (20 if args.stream else 2000), args.stream)
            return
        results = measure(args, url, started)
    finally:
        if server is not None:
            server.stop()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(write_report(out, results))


if __name__ == "__main__":
    main()
