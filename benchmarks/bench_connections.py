"""Connections: the TCP connections the server accepts during sequential calls on a warm client."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from contenders import Contender, Run
from report import Part, check_row, labels

NAME = "connections"
CONNECTION_OPS = 100
OURS = ("core", "litellm_openwebui", "langchain_openwebui", "smolagents_openwebui")
MAX_CONNECTIONS = 2


def server_counts(url: str) -> dict[str, int]:
    """The server's counters, asked over a connection of its own (counted: subtract 1)."""
    with urllib.request.urlopen(f"{url}/bench/stats", timeout=10) as response:
        return dict(json.loads(response.read()))


def bench_connections(url: str, contenders: list[Contender], count: int) -> dict[str, Any]:
    """New TCP connections the server accepted during `count` sequential calls (and streams)
    of each contender on its warm client; the contenders run one after another."""
    out: dict[str, dict[str, int]] = {}
    for contender in contenders:
        per: dict[str, int] = {}
        for mode in ("calls", "streams"):
            run: Callable[[], Any] | None
            if mode == "calls":
                run = contender.call
            elif contender.stream is not None:
                stream = contender.stream
                run = lambda stream=stream: sum(1 for _ in stream(10))  # noqa: E731
            else:
                run = None
            if run is None:
                continue
            run()  # the client's pool holds a connection before counting starts
            before = server_counts(url)
            for _ in range(count):
                run()
            after = server_counts(url)
            per[mode] = after["accepted"] - before["accepted"] - 1
            per[f"{mode}_requests"] = after["requests"] - before["requests"] - 1
        out[contender.key] = per
    return {"results": out, "config": {"count": count}}


def measure(run: Run) -> dict[str, Any]:
    run.log("connections")
    return bench_connections(run.url, run.contenders, CONNECTION_OPS)


def render(results: dict[str, Any]) -> Part:
    conns = results.get("connections")
    part = Part()
    if not conns:
        return part
    names = labels(results)
    count = conns["config"]["count"]
    part.lines += [
        "## Connections",
        "",
        f"TCP connections the server accepted during {count} sequential calls, and during "
        f"{count} sequential 10-chunk streams, on one warm client per contender (requests the "
        "server received in brackets).",
        "",
        "| contender | new connections, calls | new connections, streams |",
        "| --- | --- | --- |",
    ]
    for key, per in conns["results"].items():
        part.lines.append(
            f"| {names.get(key, key)} | {per.get('calls', 'n/a')} "
            f"({per.get('calls_requests', '-')}) | {per.get('streams', 'n/a')} "
            f"({per.get('streams_requests', '-')}) |"
        )
        if key in OURS:
            part.targets += [
                check_row(
                    f"connections for {count} sequential {mode}: {names.get(key, key)}",
                    per[mode],
                    f"<= {MAX_CONNECTIONS}",
                    per[mode] <= MAX_CONNECTIONS,
                )
                for mode in ("calls", "streams")
                if mode in per
            ]
    part.lines.append("")
    return part
