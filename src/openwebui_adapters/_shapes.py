"""Reading the server's JSON without trusting its shape: each helper answers None (or empty)
for a value of the wrong type, so one odd field never fails a whole answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["integer", "listed", "mapping", "number", "text"]


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def listed(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def integer(value: Any) -> int | None:
    """An integer (never a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> float | None:
    """A number (never a bool) as a float, else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
