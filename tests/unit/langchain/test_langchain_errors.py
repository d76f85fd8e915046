"""Every core error reaches LangChain code as its `Model*Error` class, still an OpenWebUIError."""

from __future__ import annotations

import pickle

import httpx
import pytest
from langchain_core import exceptions as lc
from langchain_fake_server import FakeServer

from openwebui_adapters import errors
from openwebui_adapters.langchain import _errors
from openwebui_adapters.langchain._errors import map_errors, to_langchain_error
from samples import sample_response as sample

CASES = [
    (errors.DNSError("no such host"), lc.ModelConnectionError),
    (errors.ServerUnreachableError("refused"), lc.ModelConnectionError),
    (errors.TLSError("bad certificate"), lc.ModelConnectionError),
    (errors.RouteError("405 here"), lc.ModelConnectionError),
    (errors.ConnectTimeoutError("slow connect"), lc.ModelTimeoutError),
    (errors.ReadTimeoutError("slow answer"), lc.ModelTimeoutError),
    (errors.AuthenticationError("bad key", status_code=401), lc.ModelAuthenticationError),
    (errors.PermissionDeniedError("keys disabled", status_code=403), lc.ModelPermissionDeniedError),
    (
        errors.ModelNotFoundError("no model", model="gpt", suggestions=["gpt-4o"]),
        lc.ModelNotFoundError,
    ),
    (errors.BadRequestError("bad field", status_code=400), lc.ModelInvalidRequestError),
    (
        errors.ContextWindowExceededError("maximum context length is 8192 tokens", status_code=400),
        lc.ContextOverflowError,
    ),
    (errors.RateLimitError("slow down", retry_after=2.0, status_code=429), lc.ModelRateLimitError),
    (errors.ServerError("backend down", status_code=500), lc.ModelAPIError),
    (errors.ResponseError("stream cut short"), lc.ModelAPIError),
]


@pytest.mark.parametrize(("error", "langchain_class"), CASES, ids=lambda v: type(v).__name__)
def test_each_core_error_becomes_its_langchain_class_and_stays_itself(
    error: errors.OpenWebUIError, langchain_class: type[Exception]
) -> None:
    translated = to_langchain_error(error)
    assert isinstance(translated, langchain_class)
    assert isinstance(translated, type(error))  # DNSError stays a DNSError, and so on
    assert translated.layer == error.layer
    assert str(translated) == str(error)
    assert translated.__dict__ == error.__dict__  # setting, hint, status, url, extras
    assert to_langchain_error(translated) is translated


def test_table_covers_every_core_error_class_but_configuration() -> None:
    core_classes = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.OpenWebUIError)
    }
    unmapped = {cls for cls in core_classes if _errors._langchain_class(cls("x")) is None}
    assert unmapped == {errors.OpenWebUIError, errors.ConfigurationError}


def test_configuration_errors_pass_unchanged() -> None:
    error = errors.ConfigurationError("no URL", setting="OPENWEBUI_SERVER_URL")
    assert to_langchain_error(error) is error


def test_a_wrong_url_is_a_connection_error_not_worth_retrying() -> None:
    assert to_langchain_error(errors.RouteError("405")).is_retryable is False  # type: ignore[attr-defined]
    assert to_langchain_error(errors.TLSError("cert")).is_retryable is False  # type: ignore[attr-defined]
    assert to_langchain_error(errors.ServerUnreachableError("x")).is_retryable is True  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "error",
    [
        errors.RateLimitError("slow", retry_after=3.0, status_code=429),
        errors.ContextWindowExceededError("maximum context length exceeded", status_code=400),
    ],
)
def test_translated_errors_survive_pickling(error: errors.OpenWebUIError) -> None:
    translated = to_langchain_error(error)
    copy = pickle.loads(pickle.dumps(translated))
    assert type(copy) is type(translated)
    assert copy.__dict__ == translated.__dict__


def test_map_errors_keeps_the_original_as_the_cause() -> None:
    original = errors.AuthenticationError("bad key")
    with pytest.raises(lc.ModelAuthenticationError) as caught, map_errors():
        raise original
    assert caught.value.__cause__ is original


# --- through the chat model, from real Open WebUI 0.12.4 answers -------------------------------


@pytest.mark.parametrize(
    ("answer", "langchain_class", "setting"),
    [
        ("err_badkey_chat", lc.ModelAuthenticationError, "api_key"),
        ("err_nokey_chat", lc.ModelAuthenticationError, "api_key"),
        ("err_apikeys_disabled_chat", lc.ModelPermissionDeniedError, "api_key"),
        ("err_put_chat", lc.ModelConnectionError, "base_url"),
        ("err_upstream_429_chat", lc.ModelRateLimitError, None),
        ("err_upstream_down_chat", lc.ModelAPIError, None),
        ("err_upstream_400_chat", lc.ModelInvalidRequestError, None),
    ],
)
def test_server_answers_raise_langchain_errors_naming_the_setting(
    server: FakeServer, answer: str, langchain_class: type[Exception], setting: str | None
) -> None:
    server.reply(sample(answer))
    with pytest.raises(langchain_class) as caught:
        server.chat().invoke("hi")
    assert isinstance(caught.value, errors.OpenWebUIError)
    assert caught.value.setting == setting
    if setting:
        assert setting in str(caught.value)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_context_overflow_answer_is_langchains_context_overflow_error(
    server: FakeServer, streamed: bool
) -> None:
    overflow = {"error": {"message": "This model's maximum context length is 8192 tokens"}}
    server.reply(httpx.Response(400, json=overflow))
    model = server.chat()
    with pytest.raises(lc.ContextOverflowError) as caught:
        list(model.stream("hi")) if streamed else model.invoke("hi")
    assert isinstance(caught.value, errors.ContextWindowExceededError)
    assert caught.value.setting == "messages"


@pytest.mark.parametrize("streamed", [False, True])
def test_unknown_model_is_model_not_found_with_suggestions(
    server: FakeServer, streamed: bool
) -> None:
    server.reply(sample("err_unknown_model_chat"), sample("models_api"), sample("models_api"))
    model = server.chat(model="stub-gtp")
    with pytest.raises(lc.ModelNotFoundError) as caught:
        list(model.stream("hi")) if streamed else model.invoke("hi")
    assert isinstance(caught.value, errors.ModelNotFoundError)
    assert "stub-gpt" in caught.value.suggestions
    assert "stub-gpt" in str(caught.value)


def test_a_stream_cut_before_done_raises_instead_of_returning_a_partial_answer(
    server: FakeServer,
) -> None:
    cut = b'data: {"choices": [{"index": 0, "delta": {"content": "Echo"}}]}\n\n'
    server.reply(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=cut))
    with pytest.raises(lc.ModelAPIError) as caught:
        list(server.chat().stream("hi"))
    assert isinstance(caught.value, errors.ResponseError)


async def test_async_calls_raise_the_same_classes(server: FakeServer) -> None:
    server.reply(sample("err_badkey_chat"))
    with pytest.raises(lc.ModelAuthenticationError):
        await server.chat().ainvoke("hi")
    with pytest.raises(lc.ModelAuthenticationError):
        async for _ in server.chat().astream("hi"):
            pass


def test_connection_failures_are_model_connection_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    from openwebui_adapters import OpenWebUIClient, Settings
    from openwebui_adapters.langchain import ChatOpenWebUI

    settings = Settings.resolve("http://openwebui.test", "sk-x", library="langchain", max_retries=0)
    client = OpenWebUIClient.from_settings(settings, transport=httpx.MockTransport(refuse))
    with pytest.raises(lc.ModelConnectionError) as caught:
        ChatOpenWebUI(model="stub-gpt", client=client).invoke("hi")
    assert caught.value.setting == "base_url"  # type: ignore[attr-defined]
