"""A fast local Open WebUI stand-in for benchmarks: asyncio streams, one write per response.

It answers `GET /api/models` and `POST /api/chat/completions` (a JSON completion, or an SSE
stream when the body says `"stream": true`), over HTTP/1.1 keep-alive, and `GET /bench/stats`
(`{"accepted": N, "requests": M}`: TCP connections accepted and requests answered since start,
the asking connection and request included), and nothing else. The
number of content chunks in a stream comes from the `X-Bench-Chunks` header, or from a
`chunks=N` in the last message, else `--chunks` (default 10). Responses are built once per
(model, chunks, usage) and cached, so what a benchmark measures is the client, not this server.

Run: `python benchmarks/server.py [--port 0]`; it prints `PORT <n>` on stdout once listening and
binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from functools import lru_cache

HOST = "127.0.0.1"
CHAT_PATH = b"/api/chat/completions"
MODELS_PATH = b"/api/models"
CREATED = 1700000000
CHUNKS_IN_TEXT = re.compile(r"chunks=(\d+)")
MAX_BODY = 16 * 1024 * 1024
STATS_PATH = b"/bench/stats"
# Above this size a request body is scanned, not parsed: a 1,000-message conversation would
# otherwise cost the server (and so every contender's clock) a json.loads per call.
SCAN_ABOVE = 32 * 1024
MODEL_IN_BODY = re.compile(rb'"model"\s*:\s*"([^"]*)"')
STREAM_IN_BODY = re.compile(rb'"stream"\s*:\s*true')
USAGE_IN_BODY = re.compile(rb'"include_usage"\s*:\s*true')
CHUNKS_IN_BODY = re.compile(rb"chunks=(\d+)")
COUNTS = {"accepted": 0, "requests": 0}

MODELS = [
    {
        "id": "bench-model",
        "name": "bench-model",
        "object": "model",
        "created": CREATED,
        "owned_by": "openai",
        "connection_type": "external",
        "openai": {"id": "bench-model", "object": "model", "owned_by": "bench"},
        "urlIdx": 0,
        "actions": [],
        "filters": [],
        "tags": [],
    }
]

USAGE = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}


def _head(status: str, content_type: str, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\n"
        "connection: keep-alive\r\n\r\n"
    ).encode()


def _response(body: bytes, content_type: str = "application/json", status: str = "200 OK") -> bytes:
    return _head(status, content_type, len(body)) + body


@lru_cache(maxsize=64)
def completion_response(model: str) -> bytes:
    """A whole chat.completion answer, headers included."""
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the benchmark server."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
    return _response(json.dumps(body).encode())


@lru_cache(maxsize=64)
def stream_response(model: str, chunks: int, usage: bool) -> bytes:
    """An SSE answer: a role chunk, `chunks` content chunks, a stop chunk, usage if asked, [DONE]."""

    def event(delta: dict[str, object], finish: str | None = None) -> str:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n"

    parts = [event({"role": "assistant", "content": ""})]
    parts.extend(event({"content": f"tok{i} "}) for i in range(chunks))
    parts.append(event({}, "stop"))
    if usage:
        last = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [],
            "usage": USAGE,
        }
        parts.append(f"data: {json.dumps(last)}\n\n")
    parts.append("data: [DONE]\n\n")
    return _response("".join(parts).encode(), "text/event-stream; charset=utf-8")


MODELS_RESPONSE = _response(json.dumps({"data": MODELS}).encode())
NOT_FOUND = _response(b'{"detail":"Not Found"}', status="404 Not Found")
BAD_REQUEST = _response(b'{"detail":"Bad request"}', status="400 Bad Request")


def _chunk_count(headers: dict[bytes, bytes], request: dict[str, object], default: int) -> int:
    if b"x-bench-chunks" in headers:
        return int(headers[b"x-bench-chunks"])
    messages = request.get("messages")
    if isinstance(messages, list) and messages:
        content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
        if isinstance(content, list):  # content parts
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        if isinstance(content, str):
            match = CHUNKS_IN_TEXT.search(content)
            if match:
                return int(match.group(1))
    return default


def answer(
    method: bytes, path: bytes, headers: dict[bytes, bytes], body: bytes, chunks: int
) -> bytes:
    """The whole HTTP response for one request."""
    path = path.split(b"?", 1)[0]
    if path == MODELS_PATH and method == b"GET":
        return MODELS_RESPONSE
    if path == STATS_PATH and method == b"GET":
        return _response(json.dumps(COUNTS).encode())
    if path == CHAT_PATH and method == b"POST" and len(body) > SCAN_ABOVE:
        return _scanned(headers, body, chunks)
    if path == CHAT_PATH and method == b"POST":
        try:
            request = json.loads(body)
        except ValueError:
            return BAD_REQUEST
        model = str(request.get("model") or "bench-model")
        if request.get("stream"):
            options = request.get("stream_options") or {}
            return stream_response(
                model, _chunk_count(headers, request, chunks), bool(options.get("include_usage"))
            )
        return completion_response(model)
    return NOT_FOUND


def _scanned(headers: dict[bytes, bytes], body: bytes, chunks: int) -> bytes:
    """The answer to a large request, from a scan of its body (the last `chunks=N` counts)."""
    model_match = MODEL_IN_BODY.search(body)
    model = model_match.group(1).decode() if model_match else "bench-model"
    if STREAM_IN_BODY.search(body):
        if b"x-bench-chunks" in headers:
            count = int(headers[b"x-bench-chunks"])
        else:
            found = CHUNKS_IN_BODY.findall(body)
            count = int(found[-1]) if found else chunks
        return stream_response(model, count, bool(USAGE_IN_BODY.search(body)))
    return completion_response(model)


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, chunks: int
) -> None:
    COUNTS["accepted"] += 1
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.split(b"\r\n")
            method, path, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if length > MAX_BODY:
                return
            body = await reader.readexactly(length) if length else b""
            COUNTS["requests"] += 1
            writer.write(answer(method, path, headers, body, chunks))
            await writer.drain()
            if headers.get(b"connection", b"").lower() == b"close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def main(port: int, chunks: int) -> None:
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, chunks), HOST, port, backlog=1024, limit=MAX_BODY
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunks", type=int, default=10, help="content chunks per stream")
    args = parser.parse_args()
    try:
        asyncio.run(main(args.port, args.chunks))
    except KeyboardInterrupt:
        sys.exit(0)
