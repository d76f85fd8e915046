"""Real Open WebUI 0.12.4 answers (tests/data, copied from the reference) as httpx responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from openwebui_adapters.sse import aiter_text_chunks, iter_text_chunks

DATA = Path(__file__).resolve().parents[2] / "data"


def sample_text(name: str) -> str:
    return (DATA / f"{name}.body").read_text()


def sample_response(name: str) -> httpx.Response:
    """The recorded status, content type and body of sample `name`."""
    status_file = DATA / f"{name}.status"
    status = int(status_file.read_text().strip()) if status_file.exists() else 200
    headers = {}
    header_file = DATA / f"{name}.headers"
    if header_file.exists():
        for line in header_file.read_text().splitlines()[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() in ("content-type", "retry-after"):
                headers[key.strip()] = value.strip()
    return httpx.Response(status, headers=headers, content=(DATA / f"{name}.body").read_bytes())


def iter_chunks(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The decoder fed an SSE body's lines (without their line breaks), as the tests write them."""
    return iter_text_chunks(line + "\n" for line in lines)


async def aiter_chunks(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The async twin of `iter_chunks`."""
    async for chunk in aiter_text_chunks(line + "\n" async for line in lines):
        yield chunk
