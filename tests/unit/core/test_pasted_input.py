"""What people paste (issue 17): page addresses, credentials in the URL, keys from documents,
session tokens, messages that cannot be JSON. One test per row, then the doctor's view."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from openwebui_like import session_token

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._pasted import describe_session_token, frontend_route_start
from openwebui_adapters._settings import Settings, check_api_key, normalize_server_url
from openwebui_adapters.doctor import Doctor, format_result
from openwebui_adapters.errors import (
    AuthenticationError,
    ConfigurationError,
    RouteError,
)
from samples import sample_text

KEY = "sk-" + "pasted0input" * 2  # built here, never a real key
USER = [{"role": "user", "content": "hello"}]
ORIGIN = "https://owui.test"


class FakeOpenWebUI:
    """Open WebUI 0.12.4 served under `prefix`: the API there; any other GET is the web UI's
    HTML page (200), any other POST a 405, as the real server answers."""

    def __init__(self, prefix: str = "", keys: tuple[str, ...] = (KEY,)) -> None:
        self.prefix = prefix
        self.keys = keys
        self.requests: list[httpx.Request] = []

    def urls(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def _authorised(self, request: httpx.Request) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:] in self.keys
        # Open WebUI reads x-api-key only when no Authorization reached it (the proxy drops it).
        return request.headers.get("x-api-key", "") in self.keys

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        api = path[len(self.prefix) :] if path.startswith(self.prefix + "/api/") else None
        if api == "/api/version" and request.method == "GET":
            return httpx.Response(200, text=sample_text("version"), headers=JSON)
        if api in ("/api/models", "/api/chat/completions"):
            if not self._authorised(request):
                return httpx.Response(401, text=sample_text("err_badkey_chat"), headers=JSON)
            if api == "/api/models":
                return httpx.Response(200, text=sample_text("models_api"), headers=JSON)
            if request.method == "POST":
                return httpx.Response(200, text=sample_text("chat_ollama_nostream"), headers=JSON)
        if request.method == "GET":
            return httpx.Response(200, text=sample_text("err_unknown_api_path"), headers=HTML)
        return httpx.Response(405, json={"detail": "Method Not Allowed"})


JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html; charset=utf-8"}


def client_for(fake: FakeOpenWebUI, url: str, key: str = KEY, **kwargs: Any) -> OpenWebUIClient:
    return OpenWebUIClient(url, key, transport=httpx.MockTransport(fake), max_retries=0, **kwargs)


def chat(client: OpenWebUIClient) -> dict[str, Any]:
    return client.chat({"model": "stub-llama:latest", "messages": USER})


# --- row 1: the browser's address bar on a page -----------------------------------------------
PAGES = [
    "/c/6f1d2c9e-0b1a-4c55-9d7e-3b7d0c3e2a11",
    "/s/0b1a4c55-share",
    "/workspace/models",
    "/workspace/knowledge/7f3e/",
    "/admin/settings/connections",
    "/auth",
    "/auth?redirect=%2Fc%2Fabc",
    "/notes/5e2a",
    "/channels/d41d8cd9",
    "/docs",
    "/playground/completions",
    "/home",
    "/c/abc#message-3",
]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("prefix", ["", "/webui", "/team/chat"])
def test_a_pasted_page_address_reaches_the_server_in_one_request(prefix: str, page: str) -> None:
    fake = FakeOpenWebUI(prefix)
    client = client_for(fake, ORIGIN + prefix + page)
    assert client.settings.server_url == ORIGIN + prefix
    assert chat(client)["choices"]
    assert fake.urls() == [f"POST {prefix}/api/chat/completions"]


@pytest.mark.parametrize("kept", ["/c", "/s", "/webui/c", "/c/x/y"])
def test_a_sub_path_named_like_a_page_is_kept_when_it_is_not_that_page(kept: str) -> None:
    assert normalize_server_url(ORIGIN + kept) == ORIGIN + kept


def test_page_address_after_an_api_path_and_the_reverse_both_reduce() -> None:
    assert normalize_server_url(ORIGIN + "/webui/api/v1/c/abc") == ORIGIN + "/webui"
    assert normalize_server_url(ORIGIN + "/webui/c/abc/api/v1") == ORIGIN + "/webui"


def test_an_unknown_page_is_found_by_walking_up_once_cached_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeOpenWebUI("/webui")
    client = client_for(fake, ORIGIN + "/webui/some-new-page/7f3e")
    with caplog.at_level(logging.WARNING, logger="openwebui_adapters"):
        assert chat(client)["choices"]
    assert fake.urls() == [
        "POST /webui/some-new-page/7f3e/api/chat/completions",
        "GET /webui/some-new-page/7f3e/api/version",
        "GET /webui/some-new-page/api/version",
        "GET /webui/api/version",
        "POST /webui/api/chat/completions",
    ]
    assert f"set OPENWEBUI_SERVER_URL={ORIGIN}/webui" in caplog.text
    # Cached with the connection: the next call costs one request.
    fake.requests.clear()
    assert chat(client)["choices"]
    assert fake.urls() == ["POST /webui/api/chat/completions"]


def test_the_walk_runs_on_the_async_path_too() -> None:
    fake = FakeOpenWebUI()
    client = OpenWebUIClient(
        ORIGIN + "/unknown/page", KEY, transport=httpx.MockTransport(fake), max_retries=0
    )

    async def run() -> dict[str, Any]:
        return await client.achat({"model": "stub-llama:latest", "messages": USER})

    assert asyncio.run(run())["choices"]
    assert fake.urls()[-1] == "POST /api/chat/completions"


def test_when_nothing_answers_the_route_error_names_what_was_tried() -> None:
    def nothing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="Not Found", headers={"content-type": "text/plain"})

    client = OpenWebUIClient(
        ORIGIN + "/x/y", KEY, transport=httpx.MockTransport(nothing), max_retries=0
    )
    with pytest.raises(RouteError) as caught:
        chat(client)
    assert f"{ORIGIN}/x/api/version" in caught.value.message
    assert f"{ORIGIN}/api/version" in caught.value.message
    assert caught.value.setting == "server_url"  # the argument's name: it was passed, not read


def test_a_valid_sub_path_is_never_abandoned_for_a_route_error_it_did_not_cause() -> None:
    """Open WebUI answers /api/version at the base: the 405 is about something else."""
    fake = FakeOpenWebUI("/webui")
    client = client_for(fake, ORIGIN + "/webui")
    with pytest.raises(RouteError):
        client._run(client._sender.json("PUT", "/api/chat/completions", {}))
    assert client.connection.base_url == ORIGIN + "/webui"


# --- row 2: credentials in the URL ---------------------------------------------------------
PASSWORD = "pr0xy-" + "s3cret"


def test_url_credentials_without_a_key_header_are_refused_without_showing_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(f"https://alice:{PASSWORD}@owui.test", KEY, environ={})
    text = str(caught.value)
    assert PASSWORD not in text
    assert "alice" not in text
    assert "OPENWEBUI_API_KEY_HEADER" in text


def test_url_credentials_go_to_the_proxy_and_the_key_in_its_own_header(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeOpenWebUI()
    with caplog.at_level(logging.DEBUG):
        client = client_for(
            fake, f"https://alice:{PASSWORD}@owui.test/c/abc", api_key_header="x-api-key"
        )
        assert chat(client)["choices"]
    sent = fake.requests[0]
    assert sent.url == httpx.URL(ORIGIN + "/api/chat/completions")
    assert sent.headers["x-api-key"] == KEY
    expected = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    for shown in (repr(client), repr(client.settings), repr(client.connection), caplog.text):
        assert PASSWORD not in shown


def test_a_refused_key_behind_url_credentials_never_shows_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeOpenWebUI(keys=("sk-other",))
    client = client_for(fake, f"https://alice:{PASSWORD}@owui.test", api_key_header="x-api-key")
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        chat(client)
    for shown in (str(caught.value), repr(caught.value), caught.value.url or "", caplog.text):
        assert PASSWORD not in shown
        assert "alice" not in shown


def test_the_key_header_can_come_from_the_environment() -> None:
    settings = Settings.resolve(
        f"https://alice:{PASSWORD}@owui.test",
        KEY,
        environ={"OPENWEBUI_API_KEY_HEADER": "X-OpenWebUI-Key"},
    )
    assert settings.api_key_header == "X-OpenWebUI-Key"
    assert settings.server_url == ORIGIN


def test_a_key_header_that_is_not_a_header_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(ORIGIN, KEY, api_key_header="x api key", environ={})
    assert caught.value.setting == "api_key_header"


def test_headers_carry_a_proxys_own_token_beside_the_key() -> None:
    fake = FakeOpenWebUI()
    client = client_for(
        fake,
        ORIGIN,
        headers={"CF-Access-Client-Id": "id.access", "CF-Access-Client-Secret": "cf-secret"},
    )
    chat(client)
    sent = fake.requests[0].headers
    assert sent["cf-access-client-id"] == "id.access"
    assert sent["authorization"] == f"Bearer {KEY}"


# --- row 3: keys copied from documents ------------------------------------------------------
@pytest.mark.parametrize(
    "pasted",
    [
        f"\u201c{KEY}\u201d",
        f"\u2018{KEY}\u2019",
        f"\u00ab {KEY} \u00bb",
        f"\u00a0{KEY}\u00a0",
        f"\u200b{KEY}\ufeff",
        f'"{KEY}"\n',
        f"Bearer\u00a0{KEY}",
        f"  \u201cBearer {KEY}\u201d  ",
    ],
)
def test_a_key_from_a_document_is_cleaned_and_sent(pasted: str) -> None:
    assert check_api_key(pasted) == KEY
    fake = FakeOpenWebUI()
    assert chat(client_for(fake, ORIGIN, pasted))["choices"]
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "pasted", [KEY[:8] + "\u201c" + KEY[8:], KEY[:8] + "\u200b" + KEY[8:], KEY + "\u00e9"]
)
def test_a_key_that_still_cannot_be_a_key_names_the_setting_and_never_quotes_it(
    pasted: str,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        OpenWebUIClient(ORIGIN, pasted)
    assert caught.value.setting == "api_key"
    assert "The API key in api_key" in str(caught.value)
    assert KEY[:8] not in str(caught.value)
    assert KEY[8:] not in str(caught.value)


# --- row 4: a session token (JWT) instead of an API key ---------------------------------------
def test_a_session_token_works_but_warns_once_per_connection_with_its_expiry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exp = time.time() + 3 * 86400
    token = session_token(exp)
    with caplog.at_level(logging.WARNING, logger="openwebui_adapters"):
        first = OpenWebUIClient(ORIGIN + "/jwt-warning-test", token)
        OpenWebUIClient(ORIGIN + "/jwt-warning-test", token)
    warnings = [r for r in caplog.records if "session token" in r.getMessage()]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert time.strftime("%Y-%m-%d", time.gmtime(exp)) in message
    assert "Settings > Account > API keys" in message
    assert token not in message
    fake = FakeOpenWebUI(keys=(token,))
    assert chat(client_for(fake, ORIGIN, token))["choices"]
    assert first.settings.api_key == token


def test_session_token_descriptions() -> None:
    now = 1_800_000_000.0
    assert "expired at" in (describe_session_token(session_token(now - 60), now=now) or "")
    assert "in 2 h" in (describe_session_token(session_token(now + 7200), now=now) or "")
    assert "no expiry" in (describe_session_token(session_token(None), now=now) or "")
    assert describe_session_token(KEY) is None
    assert describe_session_token("eyJ.not-base64!.x") is None


# --- row 5: a message that cannot be JSON ---------------------------------------------------
@pytest.mark.parametrize(
    ("messages", "where", "what"),
    [
        ([{"role": "user", "content": b"hello"}], "messages[0].content", "bytes"),
        (
            [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": {1, 2}}]},
            ],
            "messages[1].content[0].text",
            "set",
        ),
        ([{"role": "user", "content": object()}], "messages[0].content", "object"),
        ([{"role": "user", "content": float("nan")}], "messages[0].content", "nan"),
    ],
)
def test_a_message_that_cannot_be_json_is_named_before_anything_is_sent(
    messages: list[dict[str, Any]], where: str, what: str
) -> None:
    fake = FakeOpenWebUI()
    client = client_for(fake, ORIGIN)
    with pytest.raises(ConfigurationError) as caught:
        client.chat({"model": "stub-llama:latest", "messages": messages})
    assert where in caught.value.message
    assert what in caught.value.message
    with pytest.raises(ConfigurationError):
        list(client.stream_chat({"model": "stub-llama:latest", "messages": messages}))
    assert fake.requests == []


def test_a_circular_message_is_a_configuration_error() -> None:
    content: list[Any] = []
    content.append(content)
    with pytest.raises(ConfigurationError) as caught:
        client_for(FakeOpenWebUI(), ORIGIN).chat(
            {"model": "m", "messages": [{"role": "user", "content": content}]}
        )
    assert "messages[0].content" in caught.value.message


# --- the doctor -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live_fake() -> Iterator[tuple[str, FakeOpenWebUI]]:
    """The fake above behind a real HTTP server on 127.0.0.1 (the doctor opens sockets)."""
    fake = FakeOpenWebUI(keys=(KEY, session_token(time.time() + 86400)))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length", 0))
            request = httpx.Request(
                self.command,
                f"http://fake{self.path}",
                headers=dict(self.headers.items()),
                content=self.rfile.read(length),
            )
            response = fake(request)
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = _serve

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", fake
    httpd.shutdown()
    httpd.server_close()


def doctor_lines(url: str, key: str) -> list[str]:
    """The doctor's lines for settings read from the environment, as the command reads them."""
    environ = {"OPENWEBUI_SERVER_URL": url, "OPENWEBUI_API_KEY": key}
    doctor = Doctor(model="stub-llama", connect_timeout=2, environ=environ)
    return [format_result(result) for result in doctor.run()]


def test_the_doctor_reduces_a_pasted_chat_address_and_says_what_to_set(
    live_fake: tuple[str, FakeOpenWebUI],
) -> None:
    root, _ = live_fake
    lines = doctor_lines(root + "/c/6f1d2c9e-0b1a-4c55", KEY)
    assert all(not line.startswith("FAIL") for line in lines), lines
    assert f"set OPENWEBUI_SERVER_URL={root}" in lines[0]


def test_the_doctor_names_the_address_it_found_above_an_unknown_page(
    live_fake: tuple[str, FakeOpenWebUI],
) -> None:
    root, _ = live_fake
    text = "\n".join(doctor_lines(root + "/some/new-page", KEY))
    assert f"Open WebUI answers at {root}" in text
    assert f"fix: set OPENWEBUI_SERVER_URL={root}" in text


def test_the_doctor_says_a_session_token_expires_and_how_to_get_a_key(
    live_fake: tuple[str, FakeOpenWebUI],
) -> None:
    root, fake = live_fake
    token = fake.keys[1]
    lines = doctor_lines(root, token)
    assert all(not line.startswith("FAIL") for line in lines), lines
    text = "\n".join(lines)
    assert "session token (JWT)" in text
    assert "expires at" in text
    assert "Settings > Account > API keys" in text
    assert token not in text


def test_frontend_route_start_matches_pages_only() -> None:
    assert frontend_route_start(["webui", "c", "id"]) == 1
    assert frontend_route_start(["c"]) is None
    assert frontend_route_start(["workspace"]) == 0
    assert frontend_route_start(["webui"]) is None


def test_the_doctor_explains_an_expired_session_token_as_the_fix(
    live_fake: tuple[str, FakeOpenWebUI],
) -> None:
    root, _ = live_fake
    expired = session_token(time.time() - 3600)  # the server refuses it, as Open WebUI does
    text = "\n".join(doctor_lines(root, expired))
    assert "FAIL  api key" in text
    assert "fix: OPENWEBUI_API_KEY holds a session token (JWT)" in text
    assert "it expired at" in text
