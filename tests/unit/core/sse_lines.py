"""The SSE decoder fed line by line, as the SSE tests write their bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from openwebui_adapters._sse import aiter_text_chunks, iter_text_chunks


def iter_chunks(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The decoder fed an SSE body's lines (without their line breaks), as the tests write them."""
    return iter_text_chunks(line + "\n" for line in lines)


async def aiter_chunks(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The async twin of `iter_chunks`."""
    async for chunk in aiter_text_chunks(line + "\n" async for line in lines):
        yield chunk
