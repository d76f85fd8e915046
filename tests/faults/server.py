"""A fault-injecting HTTP/1.1 server on 127.0.0.1 for the fault matrix and the load tests.

Real sockets, one thread per connection, keep-alive. Each route answers with a *behaviour*: a
function that writes whatever it likes to the socket (a status, an SSE stream cut short, a reset,
a stall). The server counts requests per path, accepted connections and the peak of connections
open at once, and records every request so tests can check where the key travelled.

```python
with FaultServer() as server:
    server.route(CHAT, status(503, {"detail": "busy"}))
    ...  # point a client at server.url
    assert server.hits(CHAT) == 3
```
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from samples import front_sample, load_sample

CHAT = "/api/chat/completions"
MODELS = "/api/models"
EMBEDDINGS = "/api/embeddings"
MODEL_IDS = ("llama3:latest", "gpt-4o", "nomic-embed-text:latest")

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Closed(Exception):
    """The peer closed the connection, or the server is stopping."""


@dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(eq=False)
class Conn:
    """One accepted connection; a behaviour writes its answer here."""

    sock: socket.socket
    server: FaultServer
    keep_alive: bool = True
    busy: bool = False
    _buffer: bytes = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if not self.keep_alive:
            lines.append("Connection: close")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.keep_alive = False
        raise Closed

    def stall(self) -> None:
        """Say nothing more until the server stops."""
        self.server.stopping.wait()
        self.keep_alive = False
        raise Closed

    # -- reading a request -------------------------------------------------------------------
    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise Closed
        self._buffer += data

    def read_request(self) -> Request:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
            self.busy = True
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        if headers.get("connection", "").lower() == "close":
            self.keep_alive = False
        return Request(method, target, headers, body)


Behaviour = Callable[[Conn, Request], None]


# -- behaviours -------------------------------------------------------------------------------
def raw(
    status_code: int, body: bytes, content_type: str = "application/json", **headers: str
) -> Behaviour:
    """A complete answer with this status, body and content type."""

    def answer(conn: Conn, request: Request) -> None:
        extra = [(name.replace("_", "-"), value) for name, value in headers.items()]
        conn.head(
            status_code,
            [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra],
        )
        conn.send(body)

    return answer


def status(status_code: int, payload: Any, **headers: str) -> Behaviour:
    """A JSON answer (FastAPI style) with this status."""
    return raw(status_code, json.dumps(payload).encode(), **headers)


def sample(name: str, **headers: str) -> Behaviour:
    """What the real Open WebUI answered in tests/data/<name>.* (status, content type, body)."""
    recorded = load_sample(name)
    return raw(recorded.status, recorded.body, recorded.content_type, **headers)


def front(name: str) -> Behaviour:
    """What a proxy, sign-in gate or CDN in front of Open WebUI answered (tests/data/front/), with
    every header it sent (the body's own length is set again: the bodies are stored decoded)."""
    status_code, headers, body = front_sample(name)
    dropped = ("content-length", "transfer-encoding", "content-encoding", "connection")
    kept = [(key, value) for key, value in headers.items() if key.lower() not in dropped]

    def answer(conn: Conn, request: Request) -> None:
        conn.head(status_code, [*kept, ("Content-Length", str(len(body)))])
        conn.send(body)

    return answer


def sse(
    events: Iterable[str], *, done: bool = True, then: Callable[[Conn], None] | None = None
) -> Behaviour:
    """A `text/event-stream` answer (chunked) of these `data:` values, `[DONE]` last if `done`.

    `then` runs after the events instead of ending the body (a reset, a stall).
    """
    items = list(events) + (["[DONE]"] if done else [])

    def answer(conn: Conn, request: Request) -> None:
        conn.head(
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Transfer-Encoding", "chunked"),
            ],
        )
        for item in items:
            data = f"data: {item}\n\n".encode()
            conn.send(b"%x\r\n%s\r\n" % (len(data), data))
        if then is not None:
            time.sleep(0.1)  # let the client read what was sent before the fault
            then(conn)
        conn.send(b"0\r\n\r\n")

    return answer


def stall_after_headers(content_type: str = "application/json") -> Behaviour:
    """Send the status line and headers, then nothing (a read timeout)."""

    def answer(conn: Conn, request: Request) -> None:
        conn.head(200, [("Content-Type", content_type), ("Transfer-Encoding", "chunked")])
        conn.stall()

    return answer


def reset_before_answer() -> Behaviour:
    """Reset the connection without answering."""

    def answer(conn: Conn, request: Request) -> None:
        conn.reset()

    return answer


def sequence(*behaviours: Behaviour) -> Behaviour:
    """The n-th request to this path *on this server* gets the n-th behaviour; the last repeats.

    Counted by the server, not by the behaviour: a row's behaviour object is shared by every
    library's run of it, and each run has a fresh server, so each run starts at the first one.
    """

    def answer(conn: Conn, request: Request) -> None:
        seen = conn.server.hits(request.path)  # this request is already recorded
        behaviours[min(seen - 1, len(behaviours) - 1)](conn, request)

    return answer


def echoing_key(status_code: int, kind: str = "json") -> Behaviour:
    """An answer that quotes the request's own key back, as some proxies' error pages do.

    `kind`: "json" (a FastAPI-style detail), "text" (a plain-text body) or "sse" (a stream whose
    second line is not JSON and holds the key).
    """

    def answer(conn: Conn, request: Request) -> None:
        key = request.headers.get("authorization", "").partition(" ")[2]
        if kind == "sse":
            model = (request.json() or {}).get("model", "llama3:latest")
            sse([chunk(model, "Hi"), f"unauthorised key {key}"])(conn, request)
        elif kind == "text":
            raw(status_code, f"bad gateway auth for {key}".encode(), "text/plain")(conn, request)
        else:
            status(status_code, {"detail": f"Invalid API key: {key}"})(conn, request)

    return answer


def slow(behaviour: Behaviour, seconds: float) -> Behaviour:
    """`behaviour`, after thinking for `seconds` (a model generating; keeps requests in flight)."""

    def answer(conn: Conn, request: Request) -> None:
        time.sleep(seconds)
        behaviour(conn, request)

    return answer


# -- an Open WebUI that works -------------------------------------------------------------------
def completion(model: str, text: str = "Hello from the fault server.") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
    }


def chunk(model: str, content: str | None, finish: str | None = None, usage: bool = False) -> str:
    delta = {"role": "assistant", "content": content} if content is not None else {}
    data: dict[str, Any] = {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        data["usage"] = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    return json.dumps(data)


def stream_events(model: str) -> list[str]:
    return [
        chunk(model, "Hello"),
        chunk(model, " there."),
        chunk(model, None, "stop"),
        chunk(model, None, usage=True),
    ]


def ok_chat(conn: Conn, request: Request) -> None:
    """A valid chat completion, streamed when the body asks for it."""
    body = request.json() or {}
    model = body.get("model", "llama3:latest")
    if model not in MODEL_IDS:
        status(400, {"detail": "Model not found"})(conn, request)
    elif body.get("stream"):
        sse(stream_events(model))(conn, request)
    else:
        status(200, completion(model))(conn, request)


def ok_models(conn: Conn, request: Request) -> None:
    data = [{"id": i, "name": i, "object": "model", "owned_by": "ollama"} for i in MODEL_IDS]
    status(200, {"data": data})(conn, request)


def ok_embeddings(conn: Conn, request: Request) -> None:
    body = request.json() or {}
    texts = body.get("input", "")
    texts = [texts] if isinstance(texts, str) else texts
    data = [
        {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(texts))
    ]
    status(200, {"object": "list", "data": data, "model": body.get("model")})(conn, request)


def not_found(conn: Conn, request: Request) -> None:
    status(404, {"detail": "Not Found"})(conn, request)


@dataclass
class FaultServer:
    """The server; use as a context manager, or `start()`/`stop()`."""

    tls: ssl.SSLContext | None = None
    routes: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0
    peak_open: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self.routes = {CHAT: ok_chat, MODELS: ok_models, EMBEDDINGS: ok_embeddings, **self.routes}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[Conn] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def route(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def hits(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def paths(self) -> Counter[str]:
        with self._lock:
            return Counter(r.path for r in self.requests)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def start(self) -> FaultServer:
        self.stopping.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.join(5)
        if listener is not None:
            listener.close()

    def stop(self) -> None:
        """Close the listener and every connection, and wait for the handler threads."""
        self.stopping.set()
        self._close_listener()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            _shutdown(conn.sock)
        for thread in threads:
            thread.join(5)
        assert not any(t.is_alive() for t in threads), "a fault-server thread did not stop"

    def restart(
        self, downtime: float = 0.2, until: Callable[[], bool] | None = None, limit: float = 5.0
    ) -> None:
        """Go away for `downtime` seconds, as a redeploy does, and come back on the same port.

        The listener closes (new connections are refused), idle keep-alive connections are
        closed, and answers being written are finished first. With `until`, stay away longer
        until it holds (at most `limit` seconds in all): e.g. until a client has been refused.
        """
        self._close_listener()
        with self._lock:
            conns = list(self._conns)
            for conn in conns:
                conn.keep_alive = False
        for conn in conns:
            if not conn.busy:
                _shutdown(conn.sock)
        time.sleep(downtime)
        deadline = time.monotonic() + limit - downtime
        while until is not None and not until() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.start()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------------
    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener and not self.stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self.accepted += 1
                self._threads.add(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock, self)
        with self._lock:
            self._conns.add(conn)
            self.peak_open = max(self.peak_open, len(self._conns))
        try:
            if self.tls is not None:
                conn.sock = sock = self.tls.wrap_socket(sock, server_side=True)
            while conn.keep_alive and not self.stopping.is_set():
                conn.busy = False
                request = conn.read_request()
                with self._lock:
                    self.requests.append(request)
                self.routes.get(request.path, not_found)(conn, request)
        except (Closed, OSError):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())
            sock.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class BlackHole:
    """A listener that never accepts: its backlog is full, so connecting hangs until a timeout."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = self._listener.getsockname()[1]
        self._fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)
        time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
