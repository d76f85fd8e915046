"""The doctor with something in front of Open WebUI (the real answers of tests/data/front/ on a
real socket): it says what answers in front, and reports each case as its own failure and fix.
And a key the admin restricted to some endpoints: the checks it may still pass still run."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openwebui_adapters.doctor import CheckResult, Doctor
from samples import front_sample, sample_text

KEY = "sk-doctor-in-front"
Answer = Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]]


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], str]]:
    """`serve(answer)`: a server on 127.0.0.1 answering every request with `answer(method, path,
    body)`; its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length", 0))
                status, headers, body = answer(self.command, self.path, self.rfile.read(length))
                self.send_response_only(status)  # no Server header of its own: the answer's
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def replay(name: str) -> Answer:
    status, headers, body = front_sample(name)
    return lambda method, path, sent: (status, headers, body)


def run(url: str, model: str | None = None) -> list[CheckResult]:
    environ = {"OPENWEBUI_SERVER_URL": url, "OPENWEBUI_API_KEY": KEY}
    return list(Doctor(model=model, connect_timeout=2, timeout=5, environ=environ).run())


def failure(results: list[CheckResult]) -> CheckResult:
    return next(result for result in results if result.ok is False)


@pytest.mark.parametrize(
    ("sample", "words", "fix"),
    [
        ("nginx_401_basic_auth", ("nginx", "realm"), "proxy's credentials"),
        ("nginx_302_signin", ("sign-in page", "oauth2-proxy"), "service token"),
        ("nginx_502_upstream_closed", ("nginx", "down or restarting"), "retry later"),
        ("nginx_504_upstream_timeout", ("nginx", "read timeout"), "stream=True"),
        ("nginx_403_deny", ("nginx", "allow-list"), "let this client reach /api/"),
        ("nginx_400_http_to_https_port", ("HTTPS",), "use https://"),
        ("caddy_401_basic_auth", ("Caddy", "realm"), "proxy's credentials"),
        ("caddy_502_upstream_closed", ("Caddy", "down or restarting"), "retry later"),
    ],
)
def test_each_answer_from_in_front_is_its_own_failure_with_its_own_fix(
    serve: Callable[[Answer], str], sample: str, words: tuple[str, ...], fix: str
) -> None:
    results = run(serve(replay(sample)))
    failed = failure(results)
    assert failed.name == "open webui"
    for word in words:
        assert word in failed.detail, failed.detail
    assert failed.hint is not None
    assert fix in failed.hint
    assert "OPENWEBUI_API_KEY" not in failed.hint  # the key is not the cause


def open_webui_behind_nginx(
    method: str, path: str, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Open WebUI's own answers as nginx relays them (nginx puts its own Server header)."""
    headers = {"server": "nginx/1.22.1", "x-process-time": "0.002"}
    if path == "/api/version":
        return 200, {**headers, "content-type": "application/json"}, b'{"version":"0.12.4"}'
    if path.startswith("/api/models"):
        return (
            200,
            {**headers, "content-type": "application/json"},
            sample_text("models_api").encode(),
        )
    if json.loads(body or b"{}").get("stream"):
        stream = sample_text("chat_openai_stream").encode()
        return 200, {**headers, "content-type": "text/event-stream"}, stream
    return (
        200,
        {**headers, "content-type": "application/json"},
        sample_text("chat_ollama_nostream").encode(),
    )


def test_the_doctor_says_what_answers_in_front(serve: Callable[[Answer], str]) -> None:
    results = run(serve(open_webui_behind_nginx), model="stub-gpt")
    assert all(result.ok for result in results), [r for r in results if not r.ok]
    front = next(result for result in results if result.name == "in front")
    assert "nginx/1.22.1" in front.detail


def test_nothing_in_front_says_so(serve: Callable[[Answer], str]) -> None:
    def direct(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, headers, answer = open_webui_behind_nginx(method, path, body)
        return status, {**headers, "server": "uvicorn"}, answer

    front = next(result for result in run(serve(direct)) if result.name == "in front")
    assert "nothing shows in front" in front.detail


# -- a key restricted to some endpoints (ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS) ------------------
REFUSED = b'{"detail":"Use of API key is not enabled in the environment."}'


def chat_only(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Open WebUI with API keys allowed on /api/chat/completions only (its own 403 elsewhere)."""
    headers = {"content-type": "application/json", "x-process-time": "0.002"}
    if path == "/api/version":  # public: no key needed
        return 200, headers, b'{"version":"0.12.4"}'
    if path != "/api/chat/completions":
        return 403, headers, REFUSED
    sent = json.loads(body or b"{}")
    if "model" not in sent:
        return 422, headers, b'{"detail":[{"type":"missing","loc":["body","model"]}]}'
    if sent["model"] != "stub-llama:latest":
        return 400, headers, b'{"detail":"Model not found"}'
    if sent.get("stream"):
        return (
            200,
            {**headers, "content-type": "text/event-stream"},
            sample_text("chat_openai_stream").encode(),
        )
    return 200, headers, sample_text("chat_ollama_nostream").encode()


def test_a_key_refused_only_the_model_list_still_passes_the_chat_checks(
    serve: Callable[[Answer], str],
) -> None:
    results = {r.name: r for r in run(serve(chat_only), model="stub-llama:latest")}
    assert all(result.ok for result in results.values()), results
    assert results["api key"].hint is not None
    assert "API_KEY_ALLOWED_ENDPOINTS" in results["api key"].hint
    assert "exact id" in results["api key"].hint
    assert "not listed" in results["models"].detail
    assert "sent as written" in results["model"].detail


def test_with_a_restricted_key_a_name_that_is_not_the_id_fails_saying_why(
    serve: Callable[[Answer], str],
) -> None:
    failed = failure(run(serve(chat_only), model="stub-llama"))
    assert failed.name == "chat"
    assert "may not read the model list" in failed.detail
    assert failed.hint is not None
    assert "exact id" in failed.hint


def test_a_key_refused_everywhere_fails_the_key_check(serve: Callable[[Answer], str]) -> None:
    def refused(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {"content-type": "application/json", "x-process-time": "0.002"}
        if path == "/api/version":
            return 200, headers, b'{"version":"0.12.4"}'
        return 403, headers, REFUSED

    failed = failure(run(serve(refused), model="stub-llama:latest"))
    assert failed.name == "api key"
    assert failed.hint is not None
    assert "ENABLE_API_KEYS" in failed.hint
