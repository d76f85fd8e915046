"""The doctor against a small real HTTP server on 127.0.0.1 that answers like Open WebUI."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openwebui_adapters.cli import main
from openwebui_adapters.doctor import Doctor
from samples import sample_text

KEY = "sk-doctor-good"


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
        if self.headers.get("authorization") != f"Bearer {KEY}":
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


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OpenWebUILike)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    url: str | None, key: str | None, model: str | None = None
) -> dict[str, tuple[bool | None, str | None]]:
    """The doctor's verdicts for settings read from the environment, as the command reads them."""
    given = {"OPENWEBUI_SERVER_URL": url, "OPENWEBUI_API_KEY": key}
    environ = {name: value for name, value in given.items() if value is not None}
    doctor = Doctor(model=model, connect_timeout=2, environ=environ)
    return {r.name: (r.ok, r.setting) for r in doctor.run()}


def first_failure(results: dict[str, tuple[bool | None, str | None]]) -> tuple[str, str | None]:
    return next((name, setting) for name, (ok, setting) in results.items() if ok is False)


def test_good_setup_passes_every_check(server_url: str) -> None:
    results = run(server_url, KEY, "STUB-llama")
    assert all(ok for ok, _ in results.values()), results
    assert list(results) == [
        "settings",
        "dns",
        "tcp",
        "tls",
        "open webui",
        "in front",
        "api key",
        "models",
        "model",
        "chat",
        "stream",
    ]


@pytest.mark.parametrize(
    ("case", "failed_check", "setting"),
    [
        ("no url", "settings", "OPENWEBUI_SERVER_URL"),
        ("no key", "settings", "OPENWEBUI_API_KEY"),
        ("wrong host", "dns", "OPENWEBUI_SERVER_URL"),
        ("closed port", "tcp", "OPENWEBUI_SERVER_URL"),
        ("wrong path", "open webui", "OPENWEBUI_SERVER_URL"),
        ("wrong key", "api key", "OPENWEBUI_API_KEY"),
        ("misspelt model", "model", "model"),
    ],
)
def test_each_broken_layer_is_named_with_its_setting(
    server_url: str, case: str, failed_check: str, setting: str
) -> None:
    url, key, model = {
        "no url": (None, KEY, None),
        "no key": (server_url, None, None),
        "wrong host": ("http://nonexistent-host.invalid", KEY, None),
        "closed port": (f"http://127.0.0.1:{closed_port()}", KEY, None),
        "wrong path": (server_url + "/typo/", KEY, None),
        "wrong key": (server_url, "sk-wrong", None),
        "misspelt model": (server_url, KEY, "stub-lama"),
    }[case]
    results = run(url, key, model)
    assert first_failure(results) == (failed_check, setting)
    after = list(results)[list(results).index(failed_check) + 1 :]
    assert all(results[name][0] is None for name in after)


def test_cli_doctor_exit_code_and_output(
    server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", server_url)
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-wrong")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  api key" in out
    assert "OPENWEBUI_API_KEY" in out
    assert "sk-wrong" not in out
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    assert main(["doctor", "--model", "stub-gpt"]) == 0
    assert "all checks passed" in capsys.readouterr().out


def test_cli_models_and_chat(
    server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", server_url + "/api/v1")
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "stub-llama:latest  ollama" in out
    assert main(["chat", "hello", "--model", "stub-llama"]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello world"
    assert main(["chat", "hello", "--model", "stub-gpt", "--stream"]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello world"
    assert main(["chat", "hello", "--model", "nope-model"]) == 1
    assert "model" in capsys.readouterr().err
