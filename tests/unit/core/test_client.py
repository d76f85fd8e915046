"""The client over a scripted transport: one request on the happy path, resolution, retries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient, _diagnosis
from openwebui_adapters import _sending as sending
from openwebui_adapters.errors import (
    ConfigurationError,
    ModelNotFoundError,
    RateLimitError,
    ReadTimeoutError,
    ResponseError,
    RouteError,
    ServerError,
    ServerUnreachableError,
    SignInRequiredError,
)
from samples import sample_response, sample_text

KNOWN = {"stub-gpt", "stub-llama:latest"}
USER = [{"role": "user", "content": "hello"}]


class Server:
    """A scripted Open WebUI: answers from the recorded samples, counts what it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.known = set(KNOWN)
        self.script: list[Callable[[httpx.Request], httpx.Response]] = []

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.content]

    def paths(self) -> list[str]:
        return [
            r.url.path + (f"?{r.url.query.decode()}" if r.url.query else "") for r in self.requests
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            return self.script.pop(0)(request)
        if request.url.path == "/api/version":
            return sample_response("version")
        if request.url.path == "/api/models":
            return (
                sample_response("models_api")
                if self.known
                else httpx.Response(200, json={"data": []})
            )
        body = json.loads(request.content)
        if request.url.path == "/api/embeddings":
            if body["model"] not in self.known:
                return sample_response("err_unknown_model_embeddings")
            return httpx.Response(
                200, json={"data": [{"embedding": [0.1], "index": 0}], "model": body["model"]}
            )
        if body["model"] not in self.known:
            return sample_response("err_unknown_model_chat")
        if body.get("stream"):
            return httpx.Response(
                200,
                text=sample_text("chat_ollama_stream"),
                headers={"content-type": "text/event-stream"},
            )
        return httpx.Response(
            200,
            text=sample_text("chat_ollama_nostream").replace("stub-llama:latest", body["model"]),
            headers={"content-type": "application/json"},
        )


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records backoff delays instead of sleeping them."""
    recorded: list[float] = []
    real = sending.backoff_delay

    def record(attempt: int, retry_after: float | None = None) -> float:
        recorded.append(real(attempt, retry_after))
        return 0.0

    monkeypatch.setattr(sending, "backoff_delay", record)
    return recorded


def make_client(server: Server, **options: Any) -> OpenWebUIClient:
    return OpenWebUIClient(
        "http://owui.test/api", "sk-test", transport=httpx.MockTransport(server), **options
    )


def test_happy_path_costs_one_request(server: Server) -> None:
    answer = make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert answer["model"] == "stub-gpt"
    assert server.paths() == ["/api/chat/completions"]
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_misspelt_case_resolves_once_then_costs_one_request(server: Server) -> None:
    client = make_client(server)
    assert client.chat({"model": "STUB-GPT", "messages": USER})["model"] == "stub-gpt"
    assert server.paths() == ["/api/chat/completions", "/api/models", "/api/chat/completions"]
    server.requests.clear()
    client.chat({"model": "STUB-GPT", "messages": USER})
    assert server.paths() == ["/api/chat/completions"]
    assert server.bodies()[0]["model"] == "stub-gpt"


@pytest.mark.parametrize(
    "written", ["stub-llama", "ollama/stub-llama", "featherless_ai/stub-llama:latest"]
)
def test_missing_tag_and_leftover_prefix_resolve(server: Server, written: str) -> None:
    answer = make_client(server).chat({"model": written, "messages": USER})
    assert answer["model"] == "stub-llama:latest"


def test_unknown_model_lists_suggestions_after_one_refresh(server: Server) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        make_client(server).chat({"model": "stub-lama", "messages": USER})
    assert info.value.suggestions[0] == "stub-llama:latest"
    assert "did you mean 'stub-llama:latest'" in str(info.value)
    assert server.paths() == ["/api/chat/completions", "/api/models", "/api/models?refresh=true"]


def test_stale_server_list_is_refreshed_once_then_retried(server: Server) -> None:
    stale = {"n": 0}

    def chat_says_missing_once(request: httpx.Request) -> httpx.Response:
        stale["n"] += 1
        return sample_response("err_unknown_model_chat")

    server.script = [chat_says_missing_once]  # the list has stub-gpt but chat says "not found"
    answer = make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert answer["model"] == "stub-gpt"
    assert server.paths() == [
        "/api/chat/completions",
        "/api/models",
        "/api/models?refresh=true",
        "/api/chat/completions",
    ]


def test_user_with_no_models_is_told_to_ask_the_admin(server: Server) -> None:
    server.known = set()
    with pytest.raises(ModelNotFoundError, match="sees no models"):
        make_client(server).chat({"model": "stub-gpt", "messages": USER})


def test_empty_tools_are_never_sent(server: Server) -> None:
    make_client(server).chat(
        {"model": "stub-gpt", "messages": USER, "tools": [], "tool_choice": "auto"}
    )
    assert "tools" not in server.bodies()[0]
    assert "tool_choice" not in server.bodies()[0]


def test_parameters_pass_through_and_none_is_dropped(server: Server) -> None:
    make_client(server).chat(
        {
            "model": "stub-gpt",
            "messages": USER,
            "temperature": 0,
            "seed": 7,
            "tool_ids": ["web"],
            "top_p": None,
        }
    )
    body = server.bodies()[0]
    assert (body["temperature"], body["seed"], body["tool_ids"], body["stream"]) == (
        0,
        7,
        ["web"],
        False,
    )
    assert "top_p" not in body


def test_stream_asks_for_usage_and_yields_chunks(server: Server) -> None:
    chunks = list(make_client(server).stream_chat({"model": "stub-llama", "messages": USER}))
    assert chunks[-1]["usage"]["prompt_tokens"] == 5
    assert server.bodies()[-1]["stream_options"] == {"include_usage": True}
    assert server.bodies()[-1]["model"] == "stub-llama:latest"


def test_stream_keeps_caller_stream_options(server: Server) -> None:
    list(
        make_client(server).stream_chat(
            {"model": "stub-gpt", "messages": USER, "stream_options": {"include_usage": False}}
        )
    )
    assert server.bodies()[0]["stream_options"] == {"include_usage": False}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 408])
def test_retryable_statuses_are_retried_with_backoff(
    server: Server, delays: list[float], status: int
) -> None:
    server.script = [lambda r: httpx.Response(status, json={"detail": "busy"})] * 2
    answer = make_client(server, max_retries=2).chat({"model": "stub-gpt", "messages": USER})
    assert answer["model"] == "stub-gpt"
    assert len(server.requests) == 3
    assert len(delays) == 2
    assert 0 <= delays[0] <= 0.5
    assert 0 <= delays[1] <= 1.0


def test_retries_stop_at_max_retries(server: Server, delays: list[float]) -> None:
    server.script = [lambda r: httpx.Response(503, json={"detail": "busy"})] * 5
    with pytest.raises(ServerError):
        make_client(server, max_retries=3).chat({"model": "stub-gpt", "messages": USER})
    assert len(server.requests) == 4


def test_retry_after_is_honoured(server: Server, delays: list[float]) -> None:
    server.script = [
        lambda r: httpx.Response(429, headers={"Retry-After": "2"}, json={"detail": "slow"})
    ]
    make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert delays == [2.0]


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
@pytest.mark.parametrize(
    ("header", "expected"), [("7", 7.0), ("Wed, 21 Oct 2015 07:28:07 GMT", 7.0)]
)
def test_retry_after_is_honoured_on_every_retried_status(
    server: Server,
    delays: list[float],
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    header: str,
    expected: float,
) -> None:
    # An HTTP date is read against the clock: 7 s before the date above.
    monkeypatch.setattr(_diagnosis.time, "time", lambda: 1445412480.0)
    server.script = [
        lambda r: httpx.Response(status, headers={"Retry-After": header}, json={"detail": "busy"})
    ]
    make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert delays == [expected]


def test_retry_after_beyond_the_cap_raises_at_once(server: Server, delays: list[float]) -> None:
    server.script = [
        lambda r: httpx.Response(429, headers={"Retry-After": "3600"}, json={"detail": "slow"})
    ]
    with pytest.raises(RateLimitError) as info:
        make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert info.value.retry_after == 3600
    assert delays == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 422])
def test_client_errors_are_not_retried(server: Server, delays: list[float], status: int) -> None:
    server.script = [lambda r: httpx.Response(status, json={"detail": "no"})]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the class per status is tested in test_errors
        make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert [r.method for r in server.requests].count("POST") == 1


def test_connection_failures_are_retried(server: Server, delays: list[float]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    server.script = [refuse, refuse, refuse]
    with pytest.raises(ServerUnreachableError):
        make_client(server, max_retries=2).chat({"model": "stub-gpt", "messages": USER})
    assert len(server.requests) == 3


def test_read_timeout_is_not_retried(server: Server, delays: list[float]) -> None:
    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    server.script = [stall]
    with pytest.raises(ReadTimeoutError):
        make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert len(server.requests) == 1


def test_html_page_on_chat_is_a_route_error(server: Server) -> None:
    server.script = [lambda r: sample_response("err_unknown_api_path")]
    with pytest.raises(RouteError, match="HTML page"):
        make_client(server).chat({"model": "stub-gpt", "messages": USER})


def test_body_that_is_not_json_is_a_response_error(server: Server) -> None:
    server.script = [
        lambda r: httpx.Response(
            200, text="<<garbage", headers={"content-type": "application/json"}
        )
    ]
    with pytest.raises(ResponseError, match="not JSON"):
        make_client(server).chat({"model": "stub-gpt", "messages": USER})


def test_stream_is_not_retried_after_it_started_yielding(
    server: Server, delays: list[float]
) -> None:
    cut = sample_text("chat_openai_stream").replace("data: [DONE]", "")
    server.script = [
        lambda r: httpx.Response(200, text=cut, headers={"content-type": "text/event-stream"})
    ]
    stream = make_client(server).stream_chat({"model": "stub-gpt", "messages": USER})
    first = next(stream)
    assert first["choices"][0]["delta"]["role"] == "assistant"
    with pytest.raises(ResponseError):
        list(stream)
    assert len(server.requests) == 1
    assert delays == []


def test_stream_error_before_first_chunk_is_retried(server: Server, delays: list[float]) -> None:
    server.script = [lambda r: httpx.Response(502, json={"detail": "bad gateway"})]
    chunks = list(make_client(server).stream_chat({"model": "stub-gpt", "messages": USER}))
    assert chunks
    assert len(server.requests) == 2


def test_stream_resolves_model_before_yielding(server: Server) -> None:
    chunks = list(make_client(server).stream_chat({"model": "Stub-Llama", "messages": USER}))
    assert chunks
    assert server.paths() == ["/api/chat/completions", "/api/models", "/api/chat/completions"]


def test_embeddings_unknown_model_500_becomes_model_error_without_blind_retries(
    server: Server, delays: list[float]
) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        make_client(server).embed({"model": "stub-gtp", "input": "x"})
    assert "stub-gpt" in info.value.suggestions
    assert delays == []


def test_embeddings_resolve_names(server: Server) -> None:
    answer = make_client(server).embed({"model": "STUB-GPT", "input": ["a"]})
    assert answer["model"] == "stub-gpt"


def test_embeddings_whose_items_are_not_objects_are_passed_on_as_they_came(server: Server) -> None:
    server.script = [lambda r: httpx.Response(200, json={"data": [0.5, 0.25], "model": "m"})]
    answer = make_client(server).embed({"model": "stub-gpt", "input": ["a", "b"]})
    assert answer["data"] == [0.5, 0.25]  # no index to order them by


def test_list_and_resolve_models(server: Server) -> None:
    client = make_client(server)
    assert [m.id for m in client.list_models()] == ["stub-gpt", "stub-llama:latest"]
    assert client.resolve_model("ollama/stub-llama") == "stub-llama:latest"
    with pytest.raises(ModelNotFoundError):
        client.resolve_model("nothing-like-it")


async def test_async_chat_stream_and_embeddings(server: Server) -> None:
    client = make_client(server)
    assert (await client.achat({"model": "stub-llama", "messages": USER}))[
        "model"
    ] == "stub-llama:latest"
    chunks = [c async for c in client.astream_chat({"model": "STUB-GPT", "messages": USER})]
    assert chunks[-1]["usage"]["total_tokens"] == 8
    assert (await client.aembed({"model": "stub-gpt", "input": "x"}))["model"] == "stub-gpt"
    with pytest.raises(ModelNotFoundError):
        await client.achat({"model": "zzz", "messages": USER})


async def test_async_retries(server: Server, delays: list[float]) -> None:
    server.script = [lambda r: httpx.Response(503, json={"detail": "busy"})]
    await make_client(server).achat({"model": "stub-gpt", "messages": USER})
    assert len(server.requests) == 2
    assert len(delays) == 1


def test_async_client_is_per_event_loop() -> None:
    client = OpenWebUIClient("http://owui.test", "sk-loop")

    async def current() -> httpx.AsyncClient:
        return client.connection.async_client

    first = asyncio.run(current())
    second = asyncio.run(current())
    assert first is not second


def test_equal_settings_share_one_connection() -> None:
    a = OpenWebUIClient("http://owui.test/api", "sk-share")
    b = OpenWebUIClient("http://owui.test", "sk-share")
    c = OpenWebUIClient("http://owui.test", "sk-other")
    assert a.connection is b.connection
    assert a.connection is not c.connection


def test_repr_hides_the_key(server: Server) -> None:
    client = make_client(server)
    assert "sk-test" not in repr(client)
    assert "sk-test" not in repr(client.connection)


@pytest.mark.parametrize("model", ["", "   ", None])
def test_empty_model_names_the_model_setting(server: Server, model: Any) -> None:
    from openwebui_adapters.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        make_client(server).chat({"model": model, "messages": USER})
    assert info.value.setting == "model"
    assert server.requests == []


@pytest.mark.parametrize("messages", [[], None, "hello"])
def test_a_chat_without_a_list_of_messages_names_the_messages_setting(
    server: Server, messages: Any
) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_client(server).chat({"model": "stub-gpt", "messages": messages})
    assert info.value.setting == "messages"
    assert server.requests == []


def test_threads_share_one_pool_safely(server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(server)
    pools: list[object] = []

    def call(_: int) -> dict[str, Any]:
        pools.append(client.connection.client)  # created lazily, by whichever thread is first
        return client.chat({"model": "stub-llama", "messages": USER})

    with ThreadPoolExecutor(max_workers=8) as executor:
        answers = list(executor.map(call, range(32)))
    assert len(pools) == 32
    assert {a["model"] for a in answers} == {"stub-llama:latest"}
    assert len({id(pool) for pool in pools}) == 1
    assert (
        server.paths().count("/api/models") <= 8
    )  # resolution may race, but never per call forever
    server.requests.clear()
    client.chat({"model": "stub-llama", "messages": USER})
    assert server.paths() == ["/api/chat/completions"]


@pytest.mark.parametrize("status", [301, 302, 303])
def test_redirect_that_drops_the_post_is_a_route_error(server: Server, status: int) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, headers={"location": "https://owui.test/api/chat/completions"}
        )

    server.script = [redirect, lambda r: httpx.Response(405, json={"detail": "Method Not Allowed"})]
    with pytest.raises(RouteError) as info:
        make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert [r.method for r in server.requests][:2] == ["POST", "GET"]  # then the walk
    assert "loses the POST body" in info.value.message
    assert "final address" in info.value.hint


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_that_keeps_the_post_is_diagnosed_by_what_it_reached(
    server: Server, status: int
) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, headers={"location": "https://owui.test/api/chat/completions"}
        )

    server.script = [redirect, lambda r: sample_response("err_unknown_model_chat")]
    with pytest.raises(ModelNotFoundError):
        make_client(server).chat({"model": "nope", "messages": USER})
    assert [r.method for r in server.requests][:2] == ["POST", "POST"]


def test_retries_are_logged_without_the_key(
    server: Server, delays: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    server.script = [lambda r: httpx.Response(503, json={"detail": "busy"})]
    make_client(server).chat({"model": "stub-gpt", "messages": USER})
    assert "retry 1/2" in caplog.text
    assert "sk-test" not in caplog.text


# --- mutation pass (issue 13): each test below fails when one branch of the retry decision goes


def test_connect_timeouts_are_retried(server: Server, delays: list[float]) -> None:
    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    server.script = [stall, stall]
    answer = make_client(server, max_retries=2).chat({"model": "stub-gpt", "messages": USER})
    assert answer["model"] == "stub-gpt"
    assert len(server.requests) == 3
    assert len(delays) == 2


def test_a_chat_body_is_the_bytes_httpx_would_send_for_it() -> None:
    """The core encodes a chat once itself; what it sends is what `httpx.post(json=...)` sends, so
    a long conversation costs it the same as raw httpx (benchmarks: the conversation slope)."""
    from openwebui_adapters._chat import build_chat_body, encode_chat_body

    conversation = [
        {"role": "user", "content": "Grüße, 東京の天気は? 🌤"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "東京"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": "21.5 °C"},
    ] * 50
    body = build_chat_body({"model": "llama3", "messages": conversation}, stream=False)
    sent = httpx.Request("POST", "http://owui.test/api/chat/completions", json=body)
    assert encode_chat_body(body) == sent.content


# -- resolving a model: the cases the mutation pass found untested ------------------------------


def capped(server: Server, most: int = 10) -> OpenWebUIClient:
    """A client over `server` that fails the test past `most` requests (a resolving loop)."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert len(server.requests) < most, f"still sending after {server.paths()}"
        return server(request)

    return OpenWebUIClient("http://owui.test", "sk-test", transport=httpx.MockTransport(handler))


def test_a_model_the_list_names_but_the_chat_never_finds_fails_after_one_refresh(
    server: Server,
) -> None:
    server.known = {"another-model"}  # the list still names stub-gpt
    with pytest.raises(ModelNotFoundError) as info:
        capped(server).chat({"model": "stub-gpt", "messages": USER})
    assert info.value.message == "Open WebUI has no model 'stub-gpt'"
    assert server.paths() == [
        "/api/chat/completions",
        "/api/models",
        "/api/models?refresh=true",
        "/api/chat/completions",
    ]


def test_a_model_the_list_names_but_the_chat_never_finds_is_raised_with_the_ids_to_try(
    server: Server,
) -> None:
    server.known = {"another-model"}  # the list still names stub-gpt
    with pytest.raises(ModelNotFoundError) as info:
        capped(server).chat({"model": "STUB-GPT", "messages": USER})
    assert info.value.suggestions == ["stub-gpt", "stub-llama:latest"]


def test_a_failure_of_a_model_the_server_lists_is_raised_as_what_it_is(server: Server) -> None:
    server.known = {"another-model"}  # embeddings of stub-gpt answer a bare 500, it is listed
    with pytest.raises(ServerError) as info:
        capped(server).embed({"model": "stub-gpt", "input": ["a"]})
    assert type(info.value) is ServerError  # not a missing model: it exists
    assert server.paths().count("/api/embeddings") == 2


def test_an_embeddings_failure_other_than_a_bare_500_is_not_taken_for_a_missing_model(
    server: Server,
) -> None:
    server.script = [lambda r: httpx.Response(503, json={"detail": "busy"})]
    with pytest.raises(ServerError):
        make_client(server, max_retries=0).embed({"model": "STUB-GPT", "input": ["a"]})
    assert server.paths() == ["/api/embeddings"]


def test_an_embeddings_failure_at_500_from_a_sign_in_gate_is_not_taken_for_a_missing_model(
    server: Server,
) -> None:
    gate = (
        '<html><body><p>Secured with <a href="https://github.com/oauth2-proxy/oauth2-proxy">'
        "OAuth2 Proxy</a></p></body></html>"
    )
    server.script = [
        lambda r: httpx.Response(500, text=gate, headers={"content-type": "text/html"})
    ]
    with pytest.raises(SignInRequiredError):
        make_client(server).embed({"model": "STUB-GPT", "input": ["a"]})
    assert server.paths() == ["/api/embeddings"]  # only the server's own 500 is a missing model


def test_an_embeddings_model_not_found_resolves_the_name(server: Server) -> None:
    server.script = [lambda r: httpx.Response(400, json={"detail": "Model not found"})]
    answer = make_client(server).embed({"model": "STUB-GPT", "input": ["a"]})
    assert answer["model"] == "stub-gpt"
    assert server.paths() == ["/api/embeddings", "/api/models", "/api/embeddings"]


@pytest.mark.parametrize(
    ("refusal", "quoted"),
    [
        (httpx.Response(403, json={"detail": "not for API keys"}), "403: not for API keys"),
        # no reason in the body: the refusal's own message is quoted
        (httpx.Response(401, json={"detail": ""}), "401: Open WebUI did not accept the API key"),
    ],
)
def test_a_name_to_resolve_with_a_key_refused_the_model_list_says_so(
    server: Server, refusal: httpx.Response, quoted: str
) -> None:
    server.script = [lambda r: sample_response("err_unknown_model_chat"), lambda r: refusal]
    with pytest.raises(ModelNotFoundError) as info:
        make_client(server).chat({"model": "STUB-GPT", "messages": USER})
    assert f"may not read the model list (GET /api/models answered {quoted})" in info.value.message
    assert "API_KEY_ALLOWED_ENDPOINTS" in info.value.hint


def test_resolving_a_name_the_cached_list_lacks_asks_the_server_again(server: Server) -> None:
    server.script = [
        lambda r: httpx.Response(200, json={"data": [{"id": "stub-gpt"}]}),
        lambda r: httpx.Response(200, json={"data": [{"id": "stub-gpt"}, {"id": "new-model"}]}),
    ]
    client = make_client(server)
    client.list_models()
    assert client.resolve_model("New-Model") == "new-model"
    assert client.resolve_model("stub-gpt") == "stub-gpt"  # in the list now cached: no request
    assert server.paths() == ["/api/models", "/api/models"]


def test_a_name_the_chat_misses_resolves_against_the_cached_list_without_asking_again(
    server: Server,
) -> None:
    client = make_client(server)
    client.list_models()
    assert client.chat({"model": "STUB-GPT", "messages": USER})["model"] == "stub-gpt"
    assert server.paths() == ["/api/models", "/api/chat/completions", "/api/chat/completions"]
