"""The SSE decoder fed as the plans feed it (text pieces, then the end), for the SSE tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from openwebui_adapters._sse import SSEDecoder


def iter_text_chunks(texts: Iterable[str], url: str | None = None) -> Iterator[dict[str, Any]]:
    """The chunks of an SSE body read as text pieces; nothing is read past `[DONE]`, and a body
    that ends before it raises ResponseError (as `ChunkStream.next_chunks` does)."""
    decoder = SSEDecoder(url)
    for text in texts:
        yield from decoder.feed_text(text)
        if decoder.done:
            return
    decoder.finish()


def iter_chunks(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The decoder fed an SSE body's lines (without their line breaks), as the tests write them."""
    return iter_text_chunks(line + "\n" for line in lines)
