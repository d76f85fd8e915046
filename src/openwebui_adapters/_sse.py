"""Server-sent events of a streamed chat: one decoder, fed the body's text by the plans.

Lines end at `\\r\\n`, `\\n` or `\\r` only, as the SSE specification says. (httpx's `iter_lines`
also splits at `\\u2028`, `\\x85`, form feeds and the like, which may appear unescaped inside a
chunk's JSON and would cut it in two.) The loop is the hot path of every stream, so the common
event, one `data: {...}` line, is decoded inline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ._diagnosis import server_detail
from .errors import ResponseError, ServerError

__all__ = ["DONE", "SSEDecoder"]

DONE = "[DONE]"
_raw_decode = json.JSONDecoder().raw_decode


class SSEDecoder:
    """Turns an SSE body into chunk dicts; knows whether the stream ended properly with `[DONE]`.

    `chat=False` reads any event stream of JSON objects (a file's status events): an `error`
    field is data, and the stream may end without `[DONE]`."""

    __slots__ = ("_data", "_partial", "chat", "done", "url")

    def __init__(self, url: str | None = None, *, chat: bool = True) -> None:
        self._data: list[str] = []  # the `data:` values of the event being read
        self._partial: list[str] = []  # the start of a line whose end has not arrived yet
        self.done = False
        self.url = url
        self.chat = chat

    def feed_text(self, text: str) -> Iterator[dict[str, Any]]:
        """A piece of the body (cut anywhere) in; the chunks it completes out. Stops at `[DONE]`."""
        if "\n" not in text and "\r" not in text:
            self._partial.append(text)  # joined once, when the line's end arrives
            return iter(())
        if self._partial:
            self._partial.append(text)
            text = "".join(self._partial)
            self._partial.clear()
        if "\r" in text:
            held = text.endswith("\r")  # maybe the first half of a `\r\n`: wait for the next piece
            if held:
                text = text[:-1]
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if held:
                text += "\r"
        lines = text.split("\n")
        rest = lines.pop()
        if rest:
            self._partial.append(rest)
        return self.feed_lines(lines)

    def feed_lines(self, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Complete lines (without their line breaks) in; chunks out, lazily. Stops at `[DONE]`."""
        data = self._data
        for line in lines:
            if line.startswith("data:"):
                value = line[6:] if line[5:6] == " " else line[5:]
                if not data:
                    if value[:1] == "{" and value[-1:] == "}":
                        # The common case: one JSON object per line, decoded now.
                        try:
                            chunk, end = _raw_decode(value)
                        except ValueError:
                            end = -1
                        if end != len(value):
                            raise self._not_json(value)
                        if "error" in chunk:
                            self._check_error(chunk)
                        yield chunk
                        continue
                    if value.rstrip() == DONE:
                        self.done = True
                        break
                data.append(value)
            elif data and (not line or line.isspace()):
                chunk = self._flush()
                if chunk is not None:
                    yield chunk
                elif self.done:
                    break
            # `event:`, `id:`, `retry:` and `:` comments carry nothing a chat client needs.

    def _flush(self) -> dict[str, Any] | None:
        """Dispatch the buffered event (at a blank line, or the end of the stream)."""
        value = "\n".join(self._data)
        self._data.clear()
        if value.strip() == DONE:
            self.done = True
            return None
        try:
            chunk = json.loads(value)
        except ValueError as exc:
            raise self._not_json(value) from exc
        if not isinstance(chunk, dict):
            raise ResponseError(
                f"The stream sent {type(chunk).__name__}, not an object", url=self.url
            )
        self._check_error(chunk)
        return chunk

    def _not_json(self, value: str) -> ResponseError:
        return ResponseError(
            f"The stream sent a line that is not JSON: {value[:120]!r}", url=self.url
        )

    def _check_error(self, chunk: dict[str, Any]) -> None:
        if self.chat and "error" in chunk and not chunk.get("choices"):
            # The backend failed after the stream started; Open WebUI forwards its error as data.
            raise ServerError(
                f"The model's backend failed during the stream: {server_detail(json.dumps(chunk))}",
                url=self.url,
            )

    def finish(self) -> None:
        """Call at the end of the body: a stream without `[DONE]` was cut short."""
        last = "".join(self._partial).rstrip("\r")  # a last line without its line break
        self._partial.clear()
        if not self.done and not self._data and last.startswith("data:"):
            self.done = last[5:].strip() == DONE
        if not self.done and self.chat:
            raise ResponseError(
                "The stream ended before [DONE]; the answer is incomplete and was not returned "
                "whole",
                url=self.url,
            )
