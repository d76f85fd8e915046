"""Open WebUI as LiteLLM's `openwebui/` provider.

`import openwebui_adapters.litellm` registers the provider, after which
`litellm.completion(model="openwebui/<model>", ...)` (and `acompletion`, streaming, `embedding`,
`aembedding`, the Router and the Proxy) reach the Open WebUI server in `api_base`/`api_key` or
`OPENWEBUI_SERVER_URL`/`OPENWEBUI_API_KEY`.

The handler only translates: LiteLLM's arguments into an OpenAI body for the core client, the
server's JSON into LiteLLM's objects, and the core's errors into LiteLLM's exception classes. The
route, the model id, retries and the diagnosis of failures live in the core.

Errors are LiteLLM's own classes (`litellm.exceptions`): `AuthenticationError`, `NotFoundError`
(unknown model, wrong route), `APIConnectionError`, `Timeout`, `RateLimitError`,
`InternalServerError`/`BadGatewayError`/`ServiceUnavailableError` by status, `APIError`... Their
message is the core's (layer, setting, fix), they carry the core's `layer`, `setting`, `hint`,
`url`, `suggestions` and `retry_after`, and the core error is their `__cause__`. A failure after
a stream's first chunk reaches the caller as LiteLLM's `MidStreamFallbackError` (it wraps every
provider's), whose `original_exception` is the translated error. LiteLLM iterates a custom
provider's async stream itself, so `acompletion(stream=True)` sends the request on the first
chunk: a 4xx raises its own class there, anything else arrives as `MidStreamFallbackError` with
`is_pre_first_chunk=True` (which the Router falls back on).

Retries: the core retries, with backoff and Retry-After, `max_retries` times (per call, in the
Router's `litellm_params`, or the core's default of 2), so a call makes `max_retries + 1`
attempts and LiteLLM adds none. `num_retries` (or `litellm.num_retries`) is LiteLLM's outer
loop: LiteLLM hands it to the provider as `max_retries` for the first call, then repeats the
whole call up to `num_retries` times with `max_retries=0`, as it does for its built-in providers
(where the OpenAI SDK retries inside). Prefer `max_retries`; set `num_retries` only if you want
LiteLLM's loop on top, and a Router's own `num_retries` multiplies with `max_retries`.

This module is `openwebui_adapters.litellm`; `import litellm` inside it is an absolute import
and finds the LiteLLM library, never this file.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, cast

import httpx
import litellm
from litellm import exceptions as llm_errors
from litellm.llms.custom_llm import CustomLLM
from litellm.types.llms.custom_llm import CustomLLMItem
from litellm.types.utils import EmbeddingResponse, GenericStreamingChunk, ModelResponse
from litellm.utils import custom_llm_setup

from openwebui_adapters import errors
from openwebui_adapters.client import OpenWebUIClient

__all__ = [
    "LITELLM_ERRORS",
    "PROVIDER",
    "OpenWebUILLM",
    "handler",
    "litellm_class",
    "map_errors",
    "register",
    "to_litellm_error",
]

PROVIDER: Final = "openwebui"

# ----------------------------------------------------------------------------------------------
# Errors: one table from the core's classes to LiteLLM's
# ----------------------------------------------------------------------------------------------

# A core error is raised as the LiteLLM class of its nearest listed ancestor.
LITELLM_ERRORS: Final[Mapping[type[errors.OpenWebUIError], type[Exception]]] = {
    errors.ConfigurationError: llm_errors.BadRequestError,  # nothing was sent: a setting is wrong
    errors.NetworkError: llm_errors.APIConnectionError,  # DNS, refused, TLS
    errors.RequestTimeoutError: llm_errors.Timeout,
    errors.RouteError: llm_errors.NotFoundError,  # a server, but no Open WebUI API at that URL
    errors.AuthenticationError: llm_errors.AuthenticationError,
    errors.PermissionDeniedError: llm_errors.PermissionDeniedError,
    errors.ModelNotFoundError: llm_errors.NotFoundError,
    errors.BadRequestError: llm_errors.BadRequestError,
    # A Router's `context_window_fallbacks` fire on this class.
    errors.ContextWindowExceededError: llm_errors.ContextWindowExceededError,
    errors.RateLimitError: llm_errors.RateLimitError,
    errors.ServerError: llm_errors.InternalServerError,
    errors.ResponseError: llm_errors.APIError,  # not JSON, or a stream cut before [DONE]
}
"""Each core error class -> the LiteLLM class it is raised as (the core error is its cause)."""

# An upstream failure's status picks LiteLLM's class as it does for its built-in providers.
_SERVER_ERRORS: Final[Mapping[int, type[Exception]]] = {
    502: llm_errors.BadGatewayError,
    503: llm_errors.ServiceUnavailableError,
    504: llm_errors.Timeout,
}
# Classes whose HTTP status is part of their meaning: LiteLLM, its Router and its Proxy read the
# status, not the class (Open WebUI answers an unknown model with 400, which must still be a 404).
_CLASS_STATUS: Final[Mapping[type[Exception], int]] = {
    llm_errors.BadRequestError: 400,
    llm_errors.ContextWindowExceededError: 400,
    llm_errors.AuthenticationError: 401,
    llm_errors.PermissionDeniedError: 403,
    llm_errors.NotFoundError: 404,
    llm_errors.RateLimitError: 429,
}
# The core's diagnosis, copied onto the LiteLLM error. LiteLLM's own `message`, `status_code`,
# `model` and `body` keep their meaning; the core error itself is the `__cause__`.
_CORE_ATTRIBUTES: Final = ("layer", "setting", "hint", "url", "suggestions", "retry_after")


def litellm_class(error: errors.OpenWebUIError) -> type[Exception]:
    """The LiteLLM class a core error is raised as."""
    if isinstance(error, errors.ServerError) and error.status_code in _SERVER_ERRORS:
        return _SERVER_ERRORS[error.status_code or 0]
    return next(LITELLM_ERRORS[c] for c in type(error).__mro__ if c in LITELLM_ERRORS)


def to_litellm_error(error: errors.OpenWebUIError, model: str) -> Exception:
    """The same failure as LiteLLM's exception class, carrying the core's message and attributes.

    LiteLLM passes its own classes through untouched, so its retries, fallbacks and Router see
    what they would see from a built-in provider (`AuthenticationError` is not retried, ...).
    """
    cls = litellm_class(error)
    server_status = error.status_code if error.status_code and error.status_code >= 400 else 500
    status = _CLASS_STATUS.get(cls, server_status)
    request = httpx.Request("POST", error.url or "http://openwebui.invalid")
    retry_after = getattr(error, "retry_after", None)
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    offered = {
        "message": str(error),
        "llm_provider": PROVIDER,
        "model": model,
        "status_code": status,
        "exception_status_code": error.status_code,  # None: LiteLLM's 408 for a timeout
        "request": request,
        "response": httpx.Response(status, headers=headers, request=request),
        "headers": headers or None,
    }
    accepted = inspect.signature(cls.__init__).parameters
    translated = cls(**{name: value for name, value in offered.items() if name in accepted})
    for name in _CORE_ATTRIBUTES:
        setattr(translated, name, getattr(error, name, None))
    return translated


@contextmanager
def map_errors(model: str) -> Iterator[None]:
    """Re-raise the core's errors as LiteLLM's classes, keeping the original as the cause."""
    try:
        yield
    except errors.OpenWebUIError as error:
        raise to_litellm_error(error, model) from error


# ----------------------------------------------------------------------------------------------
# Arguments in
# ----------------------------------------------------------------------------------------------

# LiteLLM settings that arrive among `optional_params` but are not part of the request body.
_CLIENT_OPTIONS: Final = frozenset({"max_retries", "extra_headers", "extra_body", "stream"})


def _plain(value: Any) -> Any:
    """JSON-ready data from what LiteLLM callers pass (e.g. a previous response's `Message`)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _message(message: Any) -> dict[str, Any]:
    plain: dict[str, Any] = _plain(message)
    plain.pop("provider_specific_fields", None)  # LiteLLM's bookkeeping, not OpenAI's
    return plain


def _timeouts(timeout: float | httpx.Timeout | None) -> tuple[float | None, float | None]:
    """(read timeout, connect timeout) from what LiteLLM passes; None leaves the core's default."""
    if isinstance(timeout, httpx.Timeout):
        return timeout.read, timeout.connect
    return (float(timeout) if timeout is not None else None), None


def _client(
    api_base: str | None,
    api_key: str | None,
    timeout: float | httpx.Timeout | None,
    headers: Mapping[str, str] | None,
    optional_params: Mapping[str, Any],
) -> OpenWebUIClient:
    """The core client for these settings (cheap: equal settings share one connection)."""
    extra_headers = {**(headers or {}), **(optional_params.get("extra_headers") or {})}
    read_timeout, connect_timeout = _timeouts(timeout)
    return OpenWebUIClient(
        api_base or None,
        api_key or None,
        timeout=read_timeout,
        connect_timeout=connect_timeout,
        max_retries=optional_params.get("max_retries"),
        headers=extra_headers or None,
    )


def _body(model: str, optional_params: Mapping[str, Any], logging_obj: Any) -> dict[str, Any]:
    """Every parameter LiteLLM collected, as the body's top-level keys (`extra_body` merged)."""
    body = {k: _plain(v) for k, v in optional_params.items() if k not in _CLIENT_OPTIONS}
    # LiteLLM keeps `user` out of a custom provider's params; it is on the call's log record.
    details = getattr(logging_obj, "model_call_details", None) or {}
    if details.get("user") is not None and "user" not in body:
        body["user"] = details["user"]
    body.update(_plain(optional_params.get("extra_body") or {}))
    body["model"] = model
    return body


def _chat_body(
    model: str, messages: list[Any], optional_params: Mapping[str, Any], logging_obj: Any
) -> dict[str, Any]:
    return {
        **_body(model, optional_params, logging_obj),
        "messages": [_message(m) for m in messages],
    }


# ----------------------------------------------------------------------------------------------
# Results out
# ----------------------------------------------------------------------------------------------

_USAGE_KEYS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")


def _usage(raw: Any) -> dict[str, Any] | None:
    """OpenAI's usage fields (the Ollama route adds its own counters; they are dropped)."""
    if not isinstance(raw, Mapping):
        return None
    usage = {key: raw[key] for key in _USAGE_KEYS if isinstance(raw.get(key), int)}
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        if isinstance(raw.get(key), Mapping):
            usage[key] = dict(raw[key])
    return usage or None


def _model_response(result: Mapping[str, Any], model_response: ModelResponse) -> ModelResponse:
    """The server's chat.completion as LiteLLM's ModelResponse; `model` is the resolved id."""
    data = {**result, "usage": _usage(result.get("usage"))}
    if data["usage"] is None:
        data.pop("usage")
    response = ModelResponse(**data)
    response._hidden_params = {**model_response._hidden_params, **response._hidden_params}
    return response


def _stream_chunks(raw: Mapping[str, Any]) -> Iterator[GenericStreamingChunk]:
    """One server chunk as LiteLLM `GenericStreamingChunk`s: one per tool-call delta.

    A chunk carries at most one tool call for LiteLLM, so a delta with several (parallel calls)
    becomes several chunks; the text, finish reason and usage ride on the first and last.
    `model` (the resolved id) reaches the chunks' `_hidden_params["provider_response_model"]`.
    """
    choices = raw.get("choices") or [{}]
    choice = choices[0]
    delta = choice.get("delta") or {}
    tool_calls = delta.get("tool_calls") or [None]
    finish_reason = choice.get("finish_reason") or ""
    last = len(tool_calls) - 1
    for position, tool_call in enumerate(tool_calls):
        chunk: dict[str, Any] = {
            "text": (delta.get("content") or "") if position == 0 else "",
            "tool_use": _tool_call_delta(tool_call, position),
            "is_finished": bool(finish_reason) and position == last,
            "finish_reason": finish_reason if position == last else "",
            "usage": _usage(raw.get("usage")) if position == last else None,
            "index": choice.get("index", 0),
        }
        if raw.get("model"):
            chunk["model"] = raw["model"]
        yield cast(GenericStreamingChunk, chunk)  # plus `model`, which LiteLLM reads too


def _tool_call_delta(tool_call: Mapping[str, Any] | None, position: int) -> dict[str, Any] | None:
    if tool_call is None:
        return None
    function = tool_call.get("function") or {}
    return {
        "id": tool_call.get("id"),
        "type": "function",
        "function": {"name": function.get("name"), "arguments": function.get("arguments") or ""},
        "index": tool_call.get("index", position),
    }


def _embedding_response(
    result: Mapping[str, Any], model_response: EmbeddingResponse
) -> EmbeddingResponse:
    model_response.model = result.get("model")
    model_response.data = result.get("data") or []
    model_response.object = "list"
    usage = _usage(result.get("usage"))
    if usage is not None:
        model_response.usage = litellm.Usage(**usage)
    return model_response


# ----------------------------------------------------------------------------------------------
# The handler
# ----------------------------------------------------------------------------------------------


class OpenWebUILLM(CustomLLM):
    """LiteLLM's handler for `openwebui/<model>`: every call goes through the core client."""

    def completion(
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> ModelResponse:
        with map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            result = client_.chat(_chat_body(model, messages, optional_params, logging_obj))
        return _model_response(result, model_response)

    async def acompletion(
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> ModelResponse:
        with map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            result = await client_.achat(_chat_body(model, messages, optional_params, logging_obj))
        return _model_response(result, model_response)

    def streaming(
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> Iterator[GenericStreamingChunk]:
        # Not a generator: the request is made (and its first chunk read) inside `completion()`,
        # so a wrong key or model raises there, where LiteLLM's retries and fallbacks act.
        with map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            raw = client_.stream_chat(_chat_body(model, messages, optional_params, logging_obj))
            first = next(raw, None)
        return self._generic_stream(model, first, raw)

    @staticmethod
    def _generic_stream(
        model: str, first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]
    ) -> Iterator[GenericStreamingChunk]:
        if first is None:
            return
        try:
            yield from _stream_chunks(first)
            with map_errors(model):
                for raw in rest:
                    yield from _stream_chunks(raw)
        finally:
            close = getattr(rest, "close", None)
            if close is not None:
                close()  # a caller that stops early releases the connection now

    async def astreaming(  # type: ignore[override]  # an async generator, as LiteLLM iterates it
        self,
        model: str,
        messages: list[Any],
        api_base: str | None,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: str | None,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> AsyncIterator[GenericStreamingChunk]:
        # LiteLLM wraps this async generator before iterating it, so an error surfaces on the
        # first chunk (4xx as its LiteLLM class; others inside LiteLLM's MidStreamFallbackError
        # with is_pre_first_chunk=True, which the Router falls back on).
        with map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            body = _chat_body(model, messages, optional_params, logging_obj)
            async for raw in client_.astream_chat(body):
                for chunk in _stream_chunks(raw):
                    yield chunk

    def embedding(
        self,
        model: str,
        input: list[Any],
        model_response: EmbeddingResponse,
        print_verbose: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        litellm_params: Any = None,
    ) -> EmbeddingResponse:
        with map_errors(model):
            client_ = _client(api_base, api_key, timeout, None, optional_params)
            result = client_.embed({**_body(model, optional_params, logging_obj), "input": input})
        return _embedding_response(result, model_response)

    async def aembedding(
        self,
        model: str,
        input: list[Any],
        model_response: EmbeddingResponse,
        print_verbose: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        litellm_params: Any = None,
    ) -> EmbeddingResponse:
        with map_errors(model):
            client_ = _client(api_base, api_key, timeout, None, optional_params)
            body = {**_body(model, optional_params, logging_obj), "input": input}
            result = await client_.aembed(body)
        return _embedding_response(result, model_response)


handler: Final = OpenWebUILLM()
"""The handler instance; the Proxy's `custom_provider_map` names it `openwebui_adapters.litellm.handler`."""


def register(provider: str = PROVIDER, custom_handler: CustomLLM | None = None) -> None:
    """Make `<provider>/<model>` reach Open WebUI; idempotent, other custom providers kept.

    Importing this module calls it. Calling it again re-installs the handler (e.g. after code
    replaced `litellm.custom_provider_map`).
    """
    entry: CustomLLMItem = {"provider": provider, "custom_handler": custom_handler or handler}
    others = [item for item in litellm.custom_provider_map if item["provider"] != provider]
    litellm.custom_provider_map = [*others, entry]
    custom_llm_setup()  # type: ignore[no-untyped-call]  # lists the provider now, so get_supported_openai_params knows it


register()
