"""RESULTS.md: the rows every section writes alike, and the page its parts are assembled into."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chart import Panel
from contenders import MAX_RETRIES, TIMEOUT
from stats import Ratio

FINDINGS = Path(__file__).resolve().parent / "FINDINGS.md"
# How a row says where the whole interval lies against its goal: most targets speak of sides,
# the per-call and streaming ones (the first written) of below and above.
SIDES = ("all on the good side", "all on the bad side")
BELOW_ABOVE = ("all below goal", "all above goal")


@dataclass(frozen=True)
class Pair:
    """Ours against theirs, with the target ratio (ours / theirs, time; lower is better)."""

    ours: str
    theirs: str
    target: float
    name: str


@dataclass
class Part:
    """A section's share of the report: its lines, its rows of the Targets table, its chart."""

    lines: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def interval(r: Ratio) -> str:
    return f"{r[0]:.2f}x ({r[1]:.2f}-{r[2]:.2f})"


def failed_row(name: str, error: str, columns: int) -> str:
    """A table row of `columns` cells for a measurement that failed: its error, then blanks."""
    return f"| {name} | failed: {error} |" + " |" * (columns - 2)


def labels(results: dict[str, Any]) -> dict[str, str]:
    return dict(results["labels"])


def target_row(
    name: str,
    r: Ratio | None,
    goal: float,
    *,
    higher: bool = False,
    sides: tuple[str, str] = SIDES,
) -> str:
    """One row of the Targets table for a ratio (ours / theirs) with its 90% interval."""
    goal_text = f">= {goal}x" if higher else f"<= {goal}x"
    if r is None:
        return f"| {name} | n/a | {goal_text} | n/a | not measured |"
    met = r[0] >= goal if higher else r[0] <= goal
    if (r[1] >= goal) if higher else (r[2] <= goal):
        where = sides[0]
    elif (r[2] < goal) if higher else (r[1] > goal):
        where = sides[1]
    else:
        where = "straddles goal"
    return f"| {name} | {interval(r)} | {goal_text} | {where} | {'met' if met else '**missed**'} |"


def check_row(name: str, measured: object, goal: object, met: bool | None) -> str:
    """One row of the Targets table for a count or a yes/no (no interval); None: not measured."""
    verdict = "not measured" if met is None else "met" if met else "**missed**"
    return f"| {name} | {measured} | {goal} | n/a | {verdict} |"


def header(results: dict[str, Any]) -> list[str]:
    """The title, the run's facts, the method in a paragraph, the chart."""
    meta = results["meta"]
    duration = meta.get("duration_s")
    return [
        "# Benchmark results",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {meta['when']} |",
        f"| run | {'quick' if meta['quick'] else 'full'} |",
        f"| command | `{meta.get('command', 'python benchmarks/run.py')}` |",
        f"| duration | {duration / 60:.1f} min ({duration:.0f} s) |"
        if duration is not None
        else "| duration | n/a |",
        f"| machine | {meta.get('machine', '')} |",
        f"| load average (1, 5, 15 min) | before {meta['load_before']}; after {meta['load_after']} |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + " |",
        "",
        "The server is `benchmarks/server.py`, in its own process on 127.0.0.1 (one write per "
        "response, keep-alive, answers built once and cached). Every contender talks to it with "
        f"the same payloads, a {TIMEOUT:.0f} s timeout and {MAX_RETRIES} retries (never needed). "
        "Every timed section warms each contender up first, interleaves the contenders round-robin "
        "(the order rotated each repetition), gives each the same number of calls, and starts "
        "each contender's turn with `gc.collect()` (what the imports and set-up allocated is "
        "frozen out of the collector's reach first, `gc.freeze()`); numbers are medians. The machine is shared "
        "with other work, so absolute times wobble between runs; the ratios come from interleaved "
        "samples and carry a bootstrap interval. See `benchmarks/README.md` for the method.",
        "",
        "![chart](chart.svg)",
        "",
    ]


def targets_table(rows: list[str]) -> list[str]:
    """The Targets table and the sentence that counts its verdicts."""
    verdicts = [row.rsplit("|", 2)[-2].strip() for row in rows]
    missed = verdicts.count("**missed**")
    unmeasured = verdicts.count("not measured")
    return [
        "## Targets",
        "",
        "| target | measured (90% interval) | goal | interval | verdict |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"{verdicts.count('met')} of {len(verdicts)} targets met"
        + (f", **{missed} missed** (see Findings)." if missed else ".")
        + (f" {unmeasured} not measured." if unmeasured else "")
        + " A ratio is ours / theirs in time (lower is faster): per call, the whole call; for "
        "streams, the time from the first chunk to the end (time per chunk) and the time to the "
        "first chunk. The interval is a 90% bootstrap interval of the ratio of medians; where it "
        "straddles the goal, the verdict rests on noise (a tie), and another run may flip it.",
        "",
    ]


def missing(results: dict[str, Any]) -> list[str]:
    if not results.get("missing"):
        return []
    lines = ["Contenders that could not run:", ""]
    lines += [f"- `{key}`: {reason}" for key, reason in results["missing"].items()]
    return [*lines, ""]


def render_markdown(results: dict[str, Any], sections: list[Part], targets: list[Part]) -> str:
    """RESULTS.md: `sections` give the body in their order, `targets` the Targets rows in theirs."""
    out = header(results)
    out += targets_table([row for part in targets for row in part.targets])
    out += missing(results)
    for part in sections:
        out += part.lines
    if FINDINGS.exists():
        out += [FINDINGS.read_text().strip(), ""]
    return "\n".join(out)
