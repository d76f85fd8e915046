"""The Open WebUI releases this package is tested against, and what to say about the others."""

from __future__ import annotations

import re

__all__ = ["NEWEST_TESTED", "OLDEST_TESTED", "parse_version", "tested_range", "untested_note"]

# Both ends run the live suite in CI (`OPENWEBUI_STACK_VERSION=<oldest> nox -s live`).
OLDEST_TESTED = "0.6.43"
NEWEST_TESTED = "0.12.4"


def parse_version(text: str) -> tuple[int, ...] | None:
    """`"0.6.43"` -> `(0, 6, 43)`; None for what is not a dotted release number."""
    match = re.match(r"^v?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(part) for part in match[1].split(".")) if match else None


def tested_range() -> str:
    return f"{OLDEST_TESTED} to {NEWEST_TESTED}"


def untested_note(version: str) -> str | None:
    """A sentence when `version` is outside the tested range (None inside it, or unparsable)."""
    parsed = parse_version(version)
    oldest, newest = parse_version(OLDEST_TESTED), parse_version(NEWEST_TESTED)
    if parsed is None or oldest is None or newest is None:
        return None
    if parsed < oldest:
        return (
            f"Open WebUI {version} is older than the releases this package is tested with "
            f"({tested_range()}): some routes and answers differ; ask the admin to upgrade"
        )
    if parsed > newest:
        return (
            f"Open WebUI {version} is newer than the releases this package is tested with "
            f"({tested_range()}): it should work; report anything that does not"
        )
    return None
