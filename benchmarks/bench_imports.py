"""Import time: each import in a fresh interpreter, and the frameworks it pulled in."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from chart import colour
from contenders import Run, last_error
from report import Part, check_row, failed_row, interval
from stats import pair_ratio, rotated, summary

NAME = "imports"
PLAN = ((3,), (5,))  # quick, full: repetitions
# Modules whose presence after an import says which frameworks it dragged in.
HEAVY_MODULES = ("litellm", "langchain_core", "langchain_openai", "smolagents", "openai")
# What is imported: a module name (`import X`), or a whole statement.
CORE_IMPORT = "from openwebui_adapters import OpenWebUIClient"
SMOLAGENTS_PEER_IMPORT = "from smolagents import OpenAIModel"
PAIRS = (
    (CORE_IMPORT, "openai"),
    ("openwebui_adapters.litellm", "litellm"),
    ("openwebui_adapters.langchain", "langchain_openai"),
    ("openwebui_adapters.smolagents", SMOLAGENTS_PEER_IMPORT),
)
MODULES = (
    "httpx",
    "openwebui_adapters",
    "openwebui_adapters._client",
    CORE_IMPORT,
    "openai",
    "openwebui_adapters.litellm",
    "litellm",
    "openwebui_adapters.langchain",
    "langchain_openai",
    "openwebui_adapters.smolagents",
    "smolagents",
    SMOLAGENTS_PEER_IMPORT,
)
# Importing these must never load litellm.
NO_LITELLM = (
    "openwebui_adapters",
    "openwebui_adapters._client",
    CORE_IMPORT,
    "openwebui_adapters.langchain",
    "openwebui_adapters.smolagents",
)
SNIPPET = """
import json, sys, time
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def import_statement(entry: str) -> str:
    return entry if " " in entry else f"import {entry}"


def import_label(entry: str) -> str:
    return f"`{import_statement(entry)}`"


def bench_imports(reps: int) -> dict[str, Any]:
    """Import time of each module in a fresh interpreter, interleaved across modules."""
    samples: dict[str, list[float]] = {}
    loaded: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    modules = list(MODULES)
    for rep in range(reps):
        for module in rotated(modules, rep):
            if module in errors:
                continue
            code = SNIPPET.format(statement=import_statement(module), heavy=HEAVY_MODULES)
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                errors[module] = last_error(done.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            samples.setdefault(module, []).append(result["seconds"])
            loaded[module] = result["loaded"]
    stats = {m: summary(s) for m, s in samples.items()}
    return {"samples": samples, "stats": stats, "loaded": loaded, "errors": errors}


def measure(run: Run) -> dict[str, Any]:
    (reps,) = run.plan(PLAN)
    run.log("import time")
    result = bench_imports(reps)
    result["config"] = {"reps": reps}
    return result


def no_litellm_row(imports: dict[str, Any] | None, module: str) -> str:
    name = f"{import_label(module)} loads no litellm"
    if imports and module in imports["loaded"]:
        clean = "litellm" not in imports["loaded"][module]
        return check_row(name, "no litellm" if clean else "litellm loaded", "no litellm", clean)
    reason = imports["errors"].get(module, "not measured") if imports else "not measured"
    return check_row(name, f"n/a ({reason})", "no litellm", None)


def render(results: dict[str, Any]) -> Part:
    imports = results.get("imports")
    part = Part(targets=[no_litellm_row(imports, module) for module in NO_LITELLM])
    if not imports:
        return part
    part.lines += [
        "## Import time",
        "",
        f"A fresh interpreter per measurement, {imports['config']['reps']} repetitions, interleaved.",
        "",
        "| module | median ms | frameworks loaded |",
        "| --- | --- | --- |",
    ]
    for module in MODULES:
        if module in imports["stats"]:
            loaded = ", ".join(imports["loaded"][module]) or "none"
            part.lines.append(
                f"| {import_label(module)} | {imports['stats'][module]['median'] * 1000:.0f} | {loaded} |"
            )
        elif module in imports["errors"]:
            part.lines.append(failed_row(import_label(module), imports["errors"][module], 3))
    part.lines += ["", "| adapter import / peer import | ratio (90% interval) |", "| --- | --- |"]
    for ours, theirs in PAIRS:
        r = pair_ratio(imports["samples"], ours, theirs)
        if r:
            part.lines.append(f"| {import_label(ours)} / {import_label(theirs)} | {interval(r)} |")
    part.lines.append("")
    # Coloured by the module's name: green for httpx, blue for `openwebui_adapters...`.
    rows = [(module, s["median"] * 1000, colour(module)) for module, s in imports["stats"].items()]
    part.panels.append(
        ("Import time, median ms, log scale (lower is better)", rows, "{:,.0f} ms", True)
    )
    return part
