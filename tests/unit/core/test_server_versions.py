"""Releases outside the tested range are named as such, and a route a release lacks is not a URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest
from openwebui_like import KEY, OpenWebUILike

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters._discovery import WALK_TIMEOUT, open_webui_version
from openwebui_adapters._server_versions import (
    NEWEST_TESTED,
    OLDEST_TESTED,
    parse_version,
    untested_note,
)
from openwebui_adapters.doctor import Doctor
from openwebui_adapters.errors import SERVER_URL, RouteError


def test_versions_parse_as_numbers_not_text() -> None:
    assert parse_version("0.12.4") > parse_version("0.6.43")  # type: ignore[operator]
    assert parse_version("v0.6.5-dev") == (0, 6, 5)
    assert parse_version("unknown") is None


@pytest.mark.parametrize(
    ("version", "says"), [("0.5.20", "older"), ("0.13.0", "newer"), ("1.0.0", "newer")]
)
def test_a_release_outside_the_range_gets_a_note(version: str, says: str) -> None:
    note = untested_note(version)
    assert note is not None
    assert says in note
    assert f"{OLDEST_TESTED} to {NEWEST_TESTED}" in note


@pytest.mark.parametrize("version", [OLDEST_TESTED, "0.8.12", NEWEST_TESTED, "dev"])
def test_a_release_inside_the_range_gets_none(version: str) -> None:
    assert untested_note(version) is None


class OldServer:
    """Open WebUI 0.5.20: no /api/embeddings yet (405), chat as usual."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/version":
            return httpx.Response(200, json={"version": "0.5.20"})
        return httpx.Response(405, json={"detail": "Method Not Allowed"})


def old_client(server: OldServer) -> OpenWebUIClient:
    return OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(server), max_retries=0
    )


def assert_lacks_the_route(error: RouteError) -> None:
    assert "Open WebUI 0.5.20 answers at http://owui.test but has no /api/embeddings" in str(error)
    assert error.setting != SERVER_URL  # the URL is right
    assert "upgrade" in error.hint


def test_a_route_the_release_lacks_is_reported_as_that() -> None:
    server = OldServer()
    client = old_client(server)
    for _ in range(2):  # the second call knows it without asking again
        with pytest.raises(RouteError) as caught:
            client.embed({"model": "nomic", "input": ["a"]})
        assert_lacks_the_route(caught.value)
    assert server.paths.count("GET /api/version") == 1


async def test_the_async_client_reports_it_too() -> None:
    with pytest.raises(RouteError) as caught:
        await old_client(OldServer()).aembed({"model": "nomic", "input": ["a"]})
    assert_lacks_the_route(caught.value)


def test_a_wrong_url_is_still_a_wrong_url() -> None:
    def no_open_webui(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    client = OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(no_open_webui), max_retries=0
    )
    with pytest.raises(RouteError) as caught:
        client.chat({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert caught.value.setting == "server_url"  # as it was given: an argument


class OldOpenWebUI(OpenWebUILike):
    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._send(200, json.dumps({"version": "0.5.20"}))
        else:
            super().do_GET()


@pytest.fixture
def old_server_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OldOpenWebUI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_doctor_names_the_release_and_the_tested_range(old_server_url: str) -> None:
    results = {r.name: r for r in Doctor(old_server_url, KEY, model="stub-gpt").run()}
    server = results["open webui"]
    assert server.ok is True
    assert "Open WebUI 0.5.20" in server.detail
    assert f"tested: {OLDEST_TESTED} to {NEWEST_TESTED}" in server.detail
    assert server.hint is not None
    assert "older than the releases this package is tested with" in server.hint


# --- mutation pass (issue 13): each test below fails when one branch of discovery.py is removed

CHAT = [{"role": "user", "content": "hi"}]
ANSWER = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}


def over(
    handler: Callable[[httpx.Request], httpx.Response], url: str = "http://owui.test"
) -> OpenWebUIClient:
    """A client of `url` whose requests `handler` answers, without retries."""
    return OpenWebUIClient(url, "sk-test", transport=httpx.MockTransport(handler), max_retries=0)


def nothing(request: httpx.Request) -> httpx.Response:
    """No Open WebUI anywhere: every path is not found."""
    return httpx.Response(404, json={"detail": "Not Found"})


def at_open_webui(chat: httpx.Response | None = None) -> OpenWebUIClient:
    """Open WebUI answers `/api/version` at the base; its chat route answers `chat`."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/version":
            return httpx.Response(200, json={"version": "0.12.4"})
        if chat is not None and request.url.host == "owui.test":
            return chat
        return httpx.Response(404, json={"detail": "Not Found"})

    return OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(handler), max_retries=0
    )


def test_a_page_where_the_api_should_answer_keeps_its_diagnosis() -> None:
    page = httpx.Response(
        200, text="<html>Open WebUI</html>", headers={"content-type": "text/html"}
    )
    with pytest.raises(RouteError) as caught:
        at_open_webui(page).chat({"model": "m", "messages": CHAT})
    assert "HTML page" in caught.value.message
    assert "lacks the route" not in caught.value.message


def test_a_redirect_that_drops_the_post_keeps_its_diagnosis_on_open_webui() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/version":
            return httpx.Response(200, json={"version": "0.12.4"})
        if request.method == "POST":  # a proxy adding a slash, by a 301 that turns POST into GET
            return httpx.Response(301, headers={"location": str(request.url) + "/"})
        return httpx.Response(405, json={"detail": "Method Not Allowed"})

    client = OpenWebUIClient(
        "http://owui.test", "sk-test", transport=httpx.MockTransport(handler), max_retries=0
    )
    with pytest.raises(RouteError) as caught:
        client.chat({"model": "m", "messages": CHAT})
    assert calls[0] == "POST /api/chat/completions"
    assert "GET /api/chat/completions/" not in calls  # the POST is not turned into a GET
    assert "loses the POST body" in caught.value.message
    assert "lacks the route" not in caught.value.message


def test_a_redirect_to_another_host_is_not_followed_nor_read_as_the_releases_route_table() -> None:
    away = httpx.Response(307, headers={"location": "http://elsewhere.test/api/chat/completions"})
    with pytest.raises(RouteError) as caught:
        at_open_webui(away).chat({"model": "m", "messages": CHAT})
    assert caught.value.url == "http://owui.test/api/chat/completions"
    assert "elsewhere.test" in caught.value.message
    assert "not followed" in caught.value.message
    assert caught.value.setting == "server_url"
    assert "lacks the route" not in caught.value.message


def test_a_call_sent_to_the_old_base_is_sent_again_after_another_call_moved_it() -> None:
    # Open WebUI is at the root, not at /webui. While the first call waits for its answer, a
    # second call walks and moves the connection's base; the first call's 404 must be sent again.
    client: OpenWebUIClient | None = None
    first = True

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal first
        path = request.url.path
        if path == "/api/version":
            return httpx.Response(200, json={"version": "0.12.4"})
        if path == "/api/chat/completions":
            return httpx.Response(200, json=ANSWER)
        if path == "/webui/api/chat/completions" and first:
            first = False
            assert client is not None
            client.chat({"model": "m", "messages": CHAT})  # the other call: walks, moves the base
        return httpx.Response(404, json={"detail": "Not Found"})

    client = OpenWebUIClient(
        "http://owui.test/webui", "sk-test", transport=httpx.MockTransport(handler), max_retries=0
    )
    assert client.chat({"model": "m", "messages": CHAT})["choices"][0]["message"]["content"] == "ok"
    assert client.connection.base_url == "http://owui.test"


def test_a_wrong_url_with_nothing_above_it_names_no_walk() -> None:
    client = over(nothing)
    with pytest.raises(RouteError) as caught:
        client.chat({"model": "m", "messages": CHAT})
    assert "answered at none of" not in caught.value.message


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(503, json={"version": "0.12.4"}), id="a failed answer"),
        pytest.param(httpx.Response(200, text="ok"), id="not JSON"),
        pytest.param(httpx.Response(200, json=["0.12.4"]), id="JSON, not an object"),
        pytest.param(httpx.Response(200, json={"version": 12}), id="a version that is no text"),
        pytest.param(
            httpx.Response(200, text="<html></html>", headers={"content-type": "text/html"}),
            id="a web page",
        ),
    ],
)
def test_only_open_webuis_own_version_answer_names_a_release(answer: httpx.Response) -> None:
    assert open_webui_version(answer) is None
    assert open_webui_version(httpx.Response(200, json={"version": "0.12.4"})) == "0.12.4"


def test_a_404_on_a_route_the_release_lacks_is_reported_as_that_too() -> None:
    def old(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/version":
            return httpx.Response(200, json={"version": "0.5.20"})
        return httpx.Response(404, json={"detail": "Not Found"})

    with pytest.raises(RouteError) as caught:
        over(old).embed({"model": "nomic", "input": ["a"]})
    assert "Open WebUI 0.5.20 answers at http://owui.test but has no /api/embeddings" in str(
        caught.value
    )


def test_a_404_where_a_redirect_within_the_server_led_is_not_read_as_the_releases() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webui/api/version":
            return httpx.Response(200, json={"version": "0.12.4"})
        if request.url.path == "/webui/api/chat/completions":
            return httpx.Response(307, headers={"location": "/elsewhere/api/chat/completions"})
        return httpx.Response(404, json={"detail": "Not Found"})

    with pytest.raises(RouteError) as caught:
        over(handler, "http://owui.test/webui").chat({"model": "m", "messages": CHAT})
    assert caught.value.url == "http://owui.test/elsewhere/api/chat/completions"
    assert "lacks the route" not in caught.value.message


@pytest.mark.parametrize(("timeout", "walk_timeout"), [(600.0, WALK_TIMEOUT), (2.0, 2.0)])
def test_the_walk_asks_with_the_shorter_of_the_walks_and_the_clients_timeout(
    timeout: float, walk_timeout: float
) -> None:
    asked: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/version"):
            asked.append(request.extensions["timeout"]["read"])
        return httpx.Response(404, json={"detail": "Not Found"})

    client = OpenWebUIClient(
        "http://owui.test/a",
        "sk-test",
        transport=httpx.MockTransport(handler),
        max_retries=0,
        timeout=timeout,
    )
    with pytest.raises(RouteError):
        client.chat({"model": "m", "messages": CHAT})
    assert asked == [walk_timeout, walk_timeout]  # /a, then the root


def test_the_walk_goes_on_past_a_base_whose_version_cannot_be_asked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/a/b/api/version":  # a sign-in gate in front of this path only
            return httpx.Response(302, headers={"location": "https://sso.test/login"})
        if path == "/a/api/version":
            return httpx.Response(200, json={"version": "0.12.4"})
        if path == "/a/api/chat/completions":
            return httpx.Response(200, json=ANSWER)
        return httpx.Response(404, json={"detail": "Not Found"})

    client = over(handler, "http://owui.test/a/b")
    assert client.chat({"model": "m", "messages": CHAT})["choices"][0]["message"]["content"] == "ok"
    assert client.connection.base_url == "http://owui.test/a"


def test_later_calls_to_a_url_where_the_walk_found_nothing_keep_the_plain_route_error() -> None:
    client = over(nothing)
    for _ in range(2):  # the second call knows the walk found nothing
        with pytest.raises(RouteError) as caught:
            client.chat({"model": "m", "messages": CHAT})
        assert caught.value.message == "No Open WebUI API at this URL (404): Not Found"
