"""Server-sent events of a streamed chat: one decoder, fed line by line by the sync and async loops."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .errors import ResponseError, ServerError, server_detail

DONE = "[DONE]"


class SSEDecoder:
    """Turns `data:` lines into chunk dicts; knows whether the stream ended properly with `[DONE]`."""

    __slots__ = ("_data", "done", "url")

    def __init__(self, url: str | None = None) -> None:
        self._data: list[str] = []
        self.done = False
        self.url = url

    def feed(self, line: str) -> dict[str, Any] | None:
        """One line in; a chunk out when an event is complete."""
        if line.startswith("data:"):
            value = line[6:] if line.startswith("data: ") else line[5:]
            if not self._data and value.rstrip() == DONE:
                self.done = True
                return None
            if not self._data and value.startswith("{") and value.endswith("}"):
                # The common case: one JSON object per line. Decode it now.
                return self._decode(value)
            self._data.append(value)
            return None
        if not line.strip():
            return self.flush()
        # `event:`, `id:`, `retry:` and `:` comments carry nothing a chat client needs.
        return None

    def flush(self) -> dict[str, Any] | None:
        """Dispatch the buffered event (a blank line, or the end of the stream)."""
        if not self._data:
            return None
        value = "\n".join(self._data)
        self._data.clear()
        return self._decode(value)

    def _decode(self, value: str) -> dict[str, Any] | None:
        if value.strip() == DONE:
            self.done = True
            return None
        try:
            chunk = json.loads(value)
        except ValueError as exc:
            raise ResponseError(
                f"The stream sent a line that is not JSON: {value[:120]!r}", url=self.url
            ) from exc
        if not isinstance(chunk, dict):
            raise ResponseError(
                f"The stream sent {type(chunk).__name__}, not an object", url=self.url
            )
        if "error" in chunk and not chunk.get("choices"):
            # The backend failed after the stream started; Open WebUI forwards its error as data.
            raise ServerError(
                f"The model's backend failed during the stream: {server_detail(json.dumps(chunk))}",
                url=self.url,
            )
        return chunk

    def finish(self) -> None:
        """Call at the end of the body: a stream without `[DONE]` was cut short."""
        if self.flush() is not None or not self.done:
            raise ResponseError(
                "The stream ended before [DONE]; the answer is incomplete and was not returned "
                "whole",
                url=self.url,
            )


def iter_chunks(lines: Iterator[str], url: str | None = None) -> Iterator[dict[str, Any]]:
    """Chunks from an SSE body's lines; raises ResponseError if it stops before `[DONE]`."""
    decoder = SSEDecoder(url)
    for line in lines:
        chunk = decoder.feed(line)
        if chunk is not None:
            yield chunk
        elif decoder.done:
            return
    decoder.finish()


async def aiter_chunks(
    lines: AsyncIterator[str], url: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The async twin of `iter_chunks`."""
    decoder = SSEDecoder(url)
    async for line in lines:
        chunk = decoder.feed(line)
        if chunk is not None:
            yield chunk
        elif decoder.done:
            return
    decoder.finish()
