"""The benchmark report, rendered from saved samples (`benchmarks/run.py --render`), measuring nothing.

Each section module renders its own part of RESULTS.md and chart.svg; these tests render the
committed results.json through the driver, as a user would, so a section that stops rendering
(or renders out of place) fails here rather than at the end of a 13-minute run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
# Every section's heading, in the order RESULTS.md gives them.
HEADINGS = (
    "## Targets",
    "## Per non-streaming call",
    "## Streaming (1000 content chunks)",
    "## Async throughput (calls per second)",
    "## Import time",
    "## Memory",
    "## LiteLLM Proxy under load",
    "## Per call against conversation length",
    "## Per stream against stream length",
    "## Connections",
    "## Memory with per-call headers and timeouts",
    "## Knowledge (real Open WebUI)",
    "## Findings",
)


def render(results: Path, out: Path) -> tuple[str, str]:
    """(RESULTS.md, chart.svg) as `run.py --render` writes them."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--render", str(results), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return (out / "RESULTS.md").read_text(), (out / "chart.svg").read_text()


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return render(BENCH / "results.json", tmp_path_factory.mktemp("render"))


def test_every_section_renders_its_heading_in_order(committed: tuple[str, str]) -> None:
    lines = committed[0].splitlines()
    positions = [lines.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions)


def test_targets_rows_come_from_every_measuring_section(committed: tuple[str, str]) -> None:
    rows = [line for line in committed[0].splitlines() if line.startswith("| ")]
    ratio = r"\d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\) \| [<>]= [\d.]+x \| (all .+|straddles goal)"
    verdict = r" \| (met|\*\*missed\*\*) \|"
    for name, measured in (
        ("per call: core vs raw httpx", ratio),
        ("streaming, time to first chunk: core vs raw httpx SSE parsing", ratio),
        ("`from openwebui_adapters import OpenWebUIClient` loads no litellm", r"no litellm.*"),
        ("async throughput at concurrency 100: core vs raw httpx", ratio),
        ("Proxy streamed: p99 latency, openwebui/ / openai/", ratio),
        ("per stream against stream length: slope, core vs raw httpx", ratio),
        ("connections for 100 sequential streams: LangChain ChatOpenWebUI (ours)", r"\d+ .*"),
        ("... and pools left (one server)", r"\d+ \| 1 \| n/a"),
        ("knowledge: upload_file to a usable file / server's processing", ratio),
    ):
        row = next((r for r in rows if r.startswith(f"| {name} | ")), None)
        assert row is not None, name
        assert re.fullmatch(rf"\| {re.escape(name)} \| {measured}{verdict}", row), row
    counted = re.search(r"\n(\d+) of (\d+) targets met", committed[0])
    assert counted is not None
    table = committed[0].split("## Targets", 1)[1].split("\n\n")[1]
    assert int(counted[2]) == len(table.splitlines()) - 2  # the header and its rule


def test_committed_report_is_what_the_committed_samples_render(
    committed: tuple[str, str],
) -> None:
    """RESULTS.md and chart.svg in the repository are the render of results.json and FINDINGS.md
    (after editing FINDINGS.md: `python benchmarks/run.py --render benchmarks/results.json`)."""
    assert committed[0] == (BENCH / "RESULTS.md").read_text()
    assert committed[1] == (BENCH / "chart.svg").read_text()


def test_chart_has_a_panel_per_charted_measure(committed: tuple[str, str]) -> None:
    svg = committed[1]
    assert svg.startswith("<svg ")
    assert svg.endswith("</svg>\n")
    for title in (
        "Per non-streaming call, median ms",
        "Streaming, chunks per second on a 1000-chunk stream",
        "Async throughput at concurrency 1,",
        "Async throughput at concurrency 100,",
        "Import time, median ms",
        "Resident memory after 1000 calls, MiB",
    ):
        assert f">{title}" in svg


def test_results_without_measurements_render_every_target_as_not_measured(
    tmp_path: Path,
) -> None:
    saved = json.loads((BENCH / "results.json").read_text())
    bare = {"meta": saved["meta"], "missing": {}, "labels": saved["labels"]}
    (tmp_path / "results.json").write_text(json.dumps(bare))
    markdown, svg = render(tmp_path / "results.json", tmp_path)
    assert "0 of 17 targets met. 17 not measured." in markdown
    assert "## Per non-streaming call" not in markdown
    assert "## Knowledge (real Open WebUI)" not in markdown
    assert "<rect x=" not in svg  # no bars: only the background
