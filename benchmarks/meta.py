"""The facts of a run that the report's header gives: when, how started, on what, with what."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def load() -> str:
    """The load averages over 1, 5 and 15 minutes."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def meta(quick: bool) -> dict[str, Any]:
    """What is known before measuring; `load_after` and `duration_s` are added at the end."""
    return {
        "when": now(),
        "quick": quick,
        "command": command_line(),
        "machine": machine(),
        "cpus": os.cpu_count(),
        "load_before": load(),
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in (
        "openwebui-adapters",
        "httpx",
        "openai",
        "litellm",
        "langchain-core",
        "langchain-openai",
        "smolagents",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def command_line() -> str:
    """How this run was started, as a user would type it."""
    if os.environ.get("NOX_CURRENT_SESSION"):
        extra = " ".join(sys.argv[1:])
        return f"nox -s bench{' -- ' + extra if extra else ''}"
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join(["python", str(shown), *sys.argv[1:]])


def machine() -> str:
    """CPU model, logical CPUs, memory and OS, from /proc where there is one."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as info:
            total_kib = int(info.readline().split()[1])
            memory = f", {total_kib / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs{memory}, {platform.system()} {platform.release()}"
