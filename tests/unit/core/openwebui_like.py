"""A small real HTTP server on 127.0.0.1 that answers like Open WebUI 0.12.4, for the doctor and
the command line (which open real sockets, and run in a subprocess where a real pipe matters)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from samples import sample_text

KEY = "sk-doctor-good"


def session_token(exp: float | None) -> str:
    """A JWT shaped like Open WebUI's session token (unsigned: only its shape matters here)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims: dict[str, Any] = {"id": "3f1c-user"}
    if exp is not None:
        claims["exp"] = int(exp)
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# A browser session token the server accepts, as Open WebUI accepts one until it expires.
SESSION_TOKEN = session_token(time.time() + 30 * 86400)


class OpenWebUILike(BaseHTTPRequestHandler):
    """Answers /api/version, /api/models and chat like Open WebUI 0.12.4; HTML elsewhere."""

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("authorization") not in (f"Bearer {KEY}", f"Bearer {SESSION_TOKEN}"):
            self._send(
                401, json.dumps({"detail": "Your session has expired or the token is invalid."})
            )
            return False
        return True

    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._send(200, sample_text("version"))
        elif self.path.startswith("/api/models"):
            if self._authorised():
                self._send(200, sample_text("models_api"))
        else:
            self._send(200, sample_text("err_unknown_api_path"), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/api/chat/completions":
            self._send(405, json.dumps({"detail": "Method Not Allowed"}))
            return
        if not self._authorised():
            return
        if body.get("model") not in ("stub-gpt", "stub-llama:latest"):
            self._send(400, json.dumps({"detail": "Model not found"}))
        elif body.get("stream"):
            self._send(200, sample_text("chat_openai_stream"), "text/event-stream")
        else:
            self._send(200, sample_text("chat_ollama_nostream"))


class KeyRestrictedToChat(OpenWebUILike):
    """As Open WebUI 0.6 with API keys restricted to /api/chat/completions: its middleware
    refuses an `sk-` key on every other path, even the public /api/version."""

    def do_GET(self) -> None:
        if self.headers.get("authorization", "").startswith("Bearer sk-"):
            self._send(403, json.dumps({"detail": "API key not allowed to access this endpoint."}))
        else:
            super().do_GET()


@contextlib.contextmanager
def serve_openwebui_like(handler: type[OpenWebUILike] = OpenWebUILike) -> Iterator[str]:
    """The server's URL while the block runs."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
