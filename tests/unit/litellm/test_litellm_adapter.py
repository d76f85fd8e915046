"""The LiteLLM handler against a scripted server (`httpx.MockTransport`): registration, what
reaches the core client, the error table, and how many attempts a call makes."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import

import litellm
from litellm import exceptions as llm_errors
from litellm.llms.custom_llm import CustomLLM

import openwebui_adapters.litellm as adapter
from openwebui_adapters import _sending as sending
from openwebui_adapters import errors
from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters.litellm import lookup_facts
from openwebui_adapters.litellm._calls import Call, aiohttp_transport
from openwebui_adapters.litellm._errors import to_litellm_error
from scripted_clients import route_litellm_clients

pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning")

URL = "http://owui.test"
KEY = "sk-unit-0000"
MESSAGES = [{"role": "user", "content": "hi"}]


def completion_body(model: str = "llama3:latest", content: str = "Hello.") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    }


class Server:
    """Scripted answers; records every request and the settings of every client built."""

    def __init__(self) -> None:
        self.answers: list[httpx.Response] = []
        self.requests: list[httpx.Request] = []
        self.clients: list[OpenWebUIClient] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def body(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)  # type: ignore[no-any-return]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Server:
    """Every client the handler builds talks to the scripted server; LiteLLM globals restored."""
    scripted = Server()

    route_litellm_clients(
        monkeypatch, lambda: httpx.MockTransport(scripted.handle), scripted.clients
    )
    monkeypatch.setattr(sending, "backoff_delay", lambda attempt, retry_after=None: 0.0)
    monkeypatch.setenv("OPENWEBUI_SERVER_URL", URL)
    monkeypatch.setenv("OPENWEBUI_API_KEY", KEY)
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    return scripted


def answer(status: int = 200, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=completion_body() if body is None else body, headers=headers)


def build(chunks: list[Any]) -> Any:
    """The whole response from stream chunks, as LiteLLM assembles it."""
    return litellm.stream_chunk_builder(chunks)


# -- registration ----------------------------------------------------------------------------


class Other(CustomLLM):
    pass


def test_register_is_idempotent_and_keeps_other_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    other = {"provider": "mine", "custom_handler": Other()}
    monkeypatch.setattr(litellm, "custom_provider_map", [other])
    adapter.register()
    adapter.register()
    providers = [item["provider"] for item in litellm.custom_provider_map]
    assert providers == ["mine", "openwebui"]
    assert litellm.custom_provider_map[1]["custom_handler"] is adapter.handler
    assert "openwebui" in litellm.provider_list


def test_the_proxy_finds_the_handler_by_its_dotted_name() -> None:
    """`custom_provider_map: [{provider: openwebui, custom_handler: openwebui_adapters.litellm.handler}]`."""
    from litellm.proxy.types_utils.utils import get_instance_fn

    assert get_instance_fn("openwebui_adapters.litellm.handler") is adapter.handler


def test_supported_params_are_known_before_the_first_call() -> None:
    params = litellm.get_supported_openai_params(model="openwebui/anything")
    assert params is not None
    assert {"tools", "tool_choice", "response_format", "temperature", "seed"} <= set(params)


# -- what reaches the server -----------------------------------------------------------------


def test_every_openai_param_reaches_the_body(server: Server) -> None:
    server.answers = [answer()]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    litellm.completion(
        model="openwebui/llama3",
        messages=MESSAGES,
        tools=tools,
        tool_choice="auto",
        response_format={"type": "json_object"},
        temperature=0.1,
        top_p=0.5,
        max_tokens=9,
        stop=["x"],
        seed=3,
        user="u-1",
        extra_body={"files": [{"type": "file", "id": "f1"}]},
    )
    body = server.body()
    assert body["model"] == "llama3"
    assert body["messages"] == MESSAGES
    expected = {
        "tools": tools,
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "temperature": 0.1,
        "top_p": 0.5,
        "max_tokens": 9,
        "stop": ["x"],
        "seed": 3,
        "user": "u-1",
        "files": [{"type": "file", "id": "f1"}],
    }
    assert {key: body.get(key) for key in expected} == expected
    assert "max_retries" not in body
    assert "extra_body" not in body


def test_open_webui_files_and_other_extras_pass_as_keywords(server: Server) -> None:
    server.answers = [answer()]
    files = [{"type": "collection", "id": "kb-1"}]
    litellm.completion(model="openwebui/llama3", messages=MESSAGES, files=files, chat_id="c-1")
    body = server.body()
    assert body["files"] == files
    assert body["chat_id"] == "c-1"


def test_api_base_key_timeout_and_headers_reach_the_client(server: Server) -> None:
    server.answers = [answer()]
    litellm.completion(
        model="openwebui/llama3",
        messages=MESSAGES,
        api_base="http://other.test:8080",
        api_key="sk-other-1111",
        timeout=7.0,
        max_retries=1,
        extra_headers={"X-Team": "a"},
    )
    request = server.requests[-1]
    assert str(request.url) == "http://other.test:8080/api/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-other-1111"
    assert request.headers["x-team"] == "a"
    settings = server.clients[-1].settings
    assert (settings.timeout, settings.max_retries) == (7.0, 1)


def test_api_key_header_carries_the_key_and_stays_out_of_the_body(server: Server) -> None:
    """Behind a proxy that takes Authorization for itself (basic auth): the key in x-api-key,
    user:password@ in the URL as the proxy's Basic credentials."""
    server.answers = [answer()]
    litellm.completion(
        model="openwebui/llama3",
        messages=MESSAGES,
        api_base="http://alice:proxy-pass@other.test:8080",
        api_key="sk-other-1111",
        api_key_header="x-api-key",
    )
    request = server.requests[-1]
    assert request.headers["x-api-key"] == "sk-other-1111"
    assert request.headers["authorization"].startswith("Basic ")
    assert "api_key_header" not in server.body()


def test_previous_response_messages_go_back_as_plain_openai_messages(server: Server) -> None:
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    server.answers = [
        answer(
            body=completion_body()
            | {
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [tool_call],
                        },
                        "finish_reason": "tool_calls",
                    }
                ]
            }
        )
    ]
    first = litellm.completion(model="openwebui/llama3", messages=MESSAGES)
    history = [
        *MESSAGES,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": "call_1", "content": "1"},
    ]
    litellm.completion(model="openwebui/llama3", messages=history)
    sent = server.body()["messages"][1]
    assert sent["role"] == "assistant"
    assert sent["tool_calls"] == [tool_call | {"index": 0}] or sent["tool_calls"] == [tool_call]
    assert "provider_specific_fields" not in sent


def test_response_model_is_the_id_the_server_answered_with(server: Server) -> None:
    server.answers = [answer(body=completion_body(model="llama3:latest"))]
    response = litellm.completion(model="openwebui/llama3", messages=MESSAGES)
    assert response.model == "llama3:latest"
    assert response.usage.total_tokens == 6


def sse(*events: dict[str, Any]) -> httpx.Response:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def delta(payload: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "llama3:latest",
        "choices": [{"index": 0, "delta": payload, "finish_reason": finish}],
        **extra,
    }


def call_delta(index: int, name: str | None, arguments: str) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if name:
        call |= {
            "id": f"call_{index}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
    return call


def test_parallel_tool_call_deltas_in_one_chunk_are_all_kept(server: Server) -> None:
    server.answers = [
        sse(
            delta(
                {
                    "role": "assistant",
                    "tool_calls": [call_delta(0, "a", ""), call_delta(1, "b", "")],
                }
            ),
            delta({"tool_calls": [call_delta(0, None, '{"x":'), call_delta(1, None, '{"y":')]}),
            delta({"tool_calls": [call_delta(0, None, "1}"), call_delta(1, None, "2}")]}),
            delta({}, "tool_calls"),
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "model": "llama3:latest",
                "choices": [],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
            },
        )
    ]
    chunks = list(litellm.completion(model="openwebui/llama3", messages=MESSAGES, stream=True))
    built = build(chunks)
    calls = built.choices[0].message.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("a", {"x": 1}),
        ("b", {"y": 2}),
    ]
    assert built.choices[0].finish_reason == "tool_calls"
    assert built.usage.completion_tokens == 5


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("core", "expected"),
    [
        (errors.ConfigurationError("bad", setting="model"), llm_errors.BadRequestError),
        (errors.DNSError("no such host"), llm_errors.APIConnectionError),
        (errors.ServerUnreachableError("refused"), llm_errors.APIConnectionError),
        (errors.TLSError("cert"), llm_errors.APIConnectionError),
        (errors.ConnectTimeoutError("slow"), llm_errors.Timeout),
        (errors.ReadTimeoutError("slow"), llm_errors.Timeout),
        (errors.RouteError("html", status_code=405), llm_errors.NotFoundError),
        (errors.AuthenticationError("401", status_code=401), llm_errors.AuthenticationError),
        (errors.PermissionDeniedError("403", status_code=403), llm_errors.PermissionDeniedError),
        (errors.ModelNotFoundError("gone", model="x", suggestions=["y"]), llm_errors.NotFoundError),
        (errors.BadRequestError("422", status_code=422), llm_errors.BadRequestError),
        (
            errors.ContextWindowExceededError("maximum context length", status_code=400),
            llm_errors.ContextWindowExceededError,
        ),
        (errors.RateLimitError("429", status_code=429), llm_errors.RateLimitError),
        (errors.ServerError("500", status_code=500), llm_errors.InternalServerError),
        (errors.ServerError("502", status_code=502), llm_errors.BadGatewayError),
        (errors.ServerError("503", status_code=503), llm_errors.ServiceUnavailableError),
        (errors.ServerError("504", status_code=504), llm_errors.Timeout),
        (errors.ResponseError("not json"), llm_errors.APIError),
        (errors.KnowledgeError("No module named 'ftfy'"), llm_errors.BadRequestError),
        (
            errors.KnowledgeNotFoundError("no base", knowledge="hr", suggestions=["HR"]),
            llm_errors.NotFoundError,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_each_core_error_becomes_litellms_class_with_the_diagnosis(
    core: errors.OpenWebUIError, expected: type[Exception]
) -> None:
    translated = to_litellm_error(core, "llama3")
    assert type(translated) is expected
    assert str(core) in str(translated)
    assert (translated.layer, translated.setting, translated.hint) == (  # type: ignore[attr-defined]
        core.layer,
        core.setting,
        core.hint,
    )
    assert translated.llm_provider == "openwebui"  # type: ignore[attr-defined]
    if isinstance(core, errors.ModelNotFoundError):
        assert translated.suggestions == ["y"]  # type: ignore[attr-defined]
    if isinstance(core, errors.KnowledgeNotFoundError):
        assert translated.suggestions == ["HR"]  # type: ignore[attr-defined]
        assert translated.status_code == 404  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("core", "status"),
    [(errors.ReadTimeoutError("slow"), 408), (errors.ServerError("504", status_code=504), 504)],
    ids=["client-side", "gateway"],
)
def test_a_timeout_keeps_its_status(core: errors.OpenWebUIError, status: int) -> None:
    assert to_litellm_error(core, "llama3").status_code == status  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("core", "status"),
    [
        # Open WebUI answers an unknown model with 400; LiteLLM's Proxy reads the status.
        (errors.ModelNotFoundError("gone", model="x", status_code=400), 404),
        (errors.RouteError("html", status_code=405), 404),
        (errors.ConfigurationError("bad", setting="model"), 400),
        (errors.ServerError("500", status_code=500), 500),
    ],
    ids=["unknown-model", "route", "settings", "server"],
)
def test_the_status_matches_litellms_class(core: errors.OpenWebUIError, status: int) -> None:
    translated = to_litellm_error(core, "llama3")
    assert translated.status_code == status  # type: ignore[attr-defined]
    assert translated.response.status_code == status  # type: ignore[attr-defined]


def test_a_rate_limit_carries_retry_after_as_litellm_reads_it() -> None:
    core = errors.RateLimitError("slow down", status_code=429)
    core.retry_after = 3.0
    translated = to_litellm_error(core, "llama3")
    assert translated.response.headers["retry-after"] == "3"  # type: ignore[attr-defined]
    assert translated.retry_after == 3.0  # type: ignore[attr-defined]


def test_the_core_error_is_the_cause(server: Server) -> None:
    server.answers = [answer(401, {"detail": "Your session has expired or the token is invalid."})]
    with pytest.raises(llm_errors.AuthenticationError) as caught:
        litellm.completion(model="openwebui/llama3", messages=MESSAGES)
    assert isinstance(caught.value.__cause__, errors.AuthenticationError)
    assert "OPENWEBUI_API_KEY" in str(caught.value)


def test_a_context_overflow_is_litellms_context_window_error(server: Server) -> None:
    server.answers = [
        answer(400, {"error": {"message": "This model's maximum context length is 8192 tokens"}})
    ]
    with pytest.raises(llm_errors.ContextWindowExceededError) as caught:
        litellm.completion(model="openwebui/llama3", messages=MESSAGES)
    assert isinstance(caught.value.__cause__, errors.ContextWindowExceededError)
    chats = [r for r in server.requests if r.url.path == "/api/chat/completions"]
    assert len(chats) == 1  # not retried (LiteLLM's look at the model's facts may list the models)


# -- attempts: the core retries, LiteLLM's wrapper adds none ---------------------------------


@pytest.mark.parametrize(
    ("kwargs", "attempts"),
    [({}, 3), ({"max_retries": 0}, 1), ({"max_retries": 4}, 5)],
    ids=["default", "max_retries=0", "max_retries=4"],
)
def test_attempts_are_max_retries_plus_one(
    server: Server, kwargs: dict[str, Any], attempts: int
) -> None:
    server.answers = [answer(503, {"detail": "busy"})]
    with pytest.raises(llm_errors.ServiceUnavailableError):
        litellm.completion(model="openwebui/llama3", messages=MESSAGES, **kwargs)
    assert len(server.requests) == attempts


async def test_async_attempts_are_max_retries_plus_one(server: Server) -> None:
    server.answers = [answer(503, {"detail": "busy"})]
    with pytest.raises(llm_errors.ServiceUnavailableError):
        await litellm.acompletion(model="openwebui/llama3", messages=MESSAGES, max_retries=1)
    assert len(server.requests) == 2


def test_a_retried_call_that_recovers_answers(server: Server) -> None:
    server.answers = [answer(503, {"detail": "busy"}), answer()]
    response = litellm.completion(model="openwebui/llama3", messages=MESSAGES, max_retries=1)
    assert response.choices[0].message.content == "Hello."
    assert len(server.requests) == 2


def test_num_retries_is_litellms_loop_around_the_cores(server: Server) -> None:
    """As documented: LiteLLM sends `num_retries` as the first call's `max_retries`, then repeats
    the call `num_retries` times with `max_retries=0` (1 + 1, then 1 more)."""
    server.answers = [answer(503, {"detail": "busy"})]
    with pytest.raises(llm_errors.ServiceUnavailableError):
        litellm.completion(model="openwebui/llama3", messages=MESSAGES, num_retries=1)
    assert len(server.requests) == 3
    assert [c.settings.max_retries for c in server.clients] == [1, 0]


def test_async_calls_use_litellms_aiohttp_transport_unless_litellm_is_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ssl

    from litellm.llms.custom_httpx.aiohttp_transport import LiteLLMAiohttpTransport

    context = ssl.create_default_context()
    assert isinstance(aiohttp_transport(context), LiteLLMAiohttpTransport)
    monkeypatch.setattr(litellm, "disable_aiohttp_transport", True)
    assert aiohttp_transport(context) is None  # httpx's own pool, as for openai/


def test_a_litellm_without_its_aiohttp_transport_factory_leaves_the_core_its_own_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ssl

    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    monkeypatch.setattr(litellm, "disable_aiohttp_transport", False)
    for name in ("create_aiohttp_transport", "_create_aiohttp_transport"):
        monkeypatch.delattr(AsyncHTTPHandler, name, raising=False)
    assert aiohttp_transport(ssl.create_default_context()) is None


@pytest.mark.parametrize(
    "name",
    ["_create_aiohttp_transport", "create_aiohttp_transport"],
    ids=["before 1.106", "1.106 on"],
)
def test_litellms_aiohttp_transport_is_found_by_its_name_in_each_release(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Whichever release is installed, each name is tried alone: the class as that release has it."""
    import inspect
    import ssl

    from litellm.llms.custom_httpx.aiohttp_transport import LiteLLMAiohttpTransport
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    names = ("create_aiohttp_transport", "_create_aiohttp_transport")
    create = next(
        inspect.getattr_static(AsyncHTTPHandler, n) for n in names if hasattr(AsyncHTTPHandler, n)
    )
    monkeypatch.setattr(litellm, "disable_aiohttp_transport", False)
    for each in names:
        monkeypatch.delattr(AsyncHTTPHandler, each, raising=False)
    monkeypatch.setattr(AsyncHTTPHandler, name, create, raising=False)
    assert isinstance(aiohttp_transport(ssl.create_default_context()), LiteLLMAiohttpTransport)


def test_an_httpx_timeout_from_litellm_sets_the_read_and_connect_timeouts() -> None:
    timeout = httpx.Timeout(30.0, connect=3.0)
    call = Call(model="m", api_base="http://owui.test", api_key="sk-unit-0000", timeout=timeout)
    settings = call.client.settings
    assert (settings.timeout, settings.connect_timeout) == (30.0, 3.0)


def test_the_providers_clients_share_a_pool_apart_from_other_libraries() -> None:
    from openwebui_adapters._connection import reset_connections, shared_connections

    reset_connections()
    first = Call(model="m", api_base="http://owui.test", api_key="sk-unit-pool-0000", timeout=5,
                 headers={"X-Trace": "1"}).client  # fmt: skip
    second = Call(model="m", api_base="http://owui.test", api_key="sk-unit-pool-0000", timeout=9,
                  headers={"X-Trace": "2"}).client  # fmt: skip
    plain = OpenWebUIClient("http://owui.test", "sk-unit-pool-0000")
    assert first.connection is second.connection  # headers and timeouts go per request
    assert plain.connection is not first.connection  # another async transport: another pool
    assert shared_connections() == 2
    reset_connections()


def test_a_router_entry_with_a_wrong_api_base_names_api_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The user wrote `api_base` in the Router's list: that is the setting to change, not an
    environment variable they never set."""
    import socket

    monkeypatch.delenv("OPENWEBUI_SERVER_URL", raising=False)
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    router = litellm.Router(
        model_list=[
            {
                "model_name": "chat",
                "litellm_params": {
                    "model": "openwebui/stub-gpt",
                    "api_base": f"http://127.0.0.1:{closed}",
                    "api_key": KEY,
                    "max_retries": 0,
                },
            }
        ],
        num_retries=0,
    )
    with pytest.raises(llm_errors.APIConnectionError) as caught:
        router.completion(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.setting == "api_base"  # type: ignore[attr-defined]
    assert "check the port in api_base" in str(caught.value)


@pytest.mark.usefixtures("litellm_knows_no_openwebui_model")
def test_a_stream_registers_its_model_with_litellm(server: Server) -> None:
    lookup_facts(wait=None)  # only the call itself may register it
    server.answers = [sse(delta({"role": "assistant", "content": "hi"}), delta({}, "stop"))]
    list(litellm.completion(model="openwebui/llama3", messages=MESSAGES, stream=True))
    assert "openwebui/llama3" in litellm.model_cost
    assert "openwebui/llama3:latest" in litellm.model_cost  # the id it resolved to


def test_a_long_stream_registers_its_model_once_not_per_chunk(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openwebui_adapters.litellm import _handler

    registered: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        _handler,
        "remember_model",
        lambda client, name, model_id: registered.append((name, model_id)),
    )
    words = [delta({"role": "assistant", "content": f"w{i} "}) for i in range(5)]
    server.answers = [sse(*words, delta({}, "stop"))]
    list(litellm.completion(model="openwebui/llama3", messages=MESSAGES, stream=True))
    assert registered == [("llama3", "llama3:latest")]


def test_a_stream_that_ends_before_any_chunk_yields_nothing(server: Server) -> None:
    server.answers = [
        httpx.Response(200, text="data: [DONE]\n\n", headers={"content-type": "text/event-stream"})
    ]
    chunks = list(litellm.completion(model="openwebui/llama3", messages=MESSAGES, stream=True))
    assert not any(c.choices[0].delta.content for c in chunks if c.choices)  # LiteLLM's close only
