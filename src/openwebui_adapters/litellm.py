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
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, cast

import httpx
import litellm
from litellm import exceptions as llm_errors
from litellm.llms.custom_llm import CustomLLM
from litellm.types.llms.custom_llm import CustomLLMItem
from litellm.types.utils import (
    Delta,
    EmbeddingResponse,
    GenericStreamingChunk,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
)
from litellm.utils import custom_llm_setup

from openwebui_adapters import errors, litellm_facts_on_demand
from openwebui_adapters.client import OpenWebUIClient
from openwebui_adapters.litellm_models import register_models, remember_model
from openwebui_adapters.replies import (
    ChatAnswer,
    Choice,
    Citation,
    EmbeddingAnswer,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
    read_embedding_answer,
    read_stream_chunk,
)

__all__ = ["PROVIDER", "OpenWebUILLM", "handler", "register", "register_models"]

PROVIDER: Final = "openwebui"

# ----------------------------------------------------------------------------------------------
# Errors: one table from the core's classes to LiteLLM's
# ----------------------------------------------------------------------------------------------

# A core error is raised as the LiteLLM class of its nearest listed ancestor.
_LITELLM_ERRORS: Final[Mapping[type[errors.OpenWebUIError], type[Exception]]] = {
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
    errors.KnowledgeError: llm_errors.BadRequestError,  # a file the server could not process
    errors.KnowledgeNotFoundError: llm_errors.NotFoundError,  # no knowledge base by that name
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


def _litellm_class(error: errors.OpenWebUIError) -> type[Exception]:
    """The LiteLLM class a core error is raised as."""
    if isinstance(error, errors.ServerError) and error.status_code in _SERVER_ERRORS:
        return _SERVER_ERRORS[error.status_code or 0]
    return next(_LITELLM_ERRORS[c] for c in type(error).__mro__ if c in _LITELLM_ERRORS)


def _to_litellm_error(error: errors.OpenWebUIError, model: str) -> Exception:
    """The same failure as LiteLLM's exception class, carrying the core's message and attributes.

    LiteLLM passes its own classes through untouched, so its retries, fallbacks and Router see
    what they would see from a built-in provider (`AuthenticationError` is not retried, ...).
    """
    cls = _litellm_class(error)
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
def _map_errors(model: str) -> Iterator[None]:
    """Re-raise the core's errors as LiteLLM's classes, keeping the original as the cause."""
    try:
        yield
    except errors.OpenWebUIError as error:
        raise _to_litellm_error(error, model) from error


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


def _aiohttp_transport(context: ssl.SSLContext) -> httpx.AsyncBaseTransport | None:
    """LiteLLM's aiohttp transport for this provider's async pool, as LiteLLM uses for `openai/`
    (httpcore's async pool scans every connection per request: at concurrency 50 that scan was
    the largest cost of a call); httpx's own when `litellm.disable_aiohttp_transport` is set."""
    if getattr(litellm, "disable_aiohttp_transport", False):
        return None
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    # Public from LiteLLM 1.106 on, private before.
    create = getattr(AsyncHTTPHandler, "create_aiohttp_transport", None) or getattr(
        AsyncHTTPHandler, "_create_aiohttp_transport", None
    )
    if create is None:
        return None
    transport: httpx.AsyncBaseTransport = create(ssl_context=context)
    return transport


def _client(
    api_base: str | None,
    api_key: str | None,
    timeout: float | httpx.Timeout | None,
    headers: Mapping[str, str] | None,
    optional_params: Mapping[str, Any],
) -> OpenWebUIClient:
    """The core client for these settings (cheap: equal settings share one connection)."""
    litellm_facts_on_demand.keep_installed()  # after a reload of LiteLLM's price list
    extra_headers = {**(headers or {}), **(optional_params.get("extra_headers") or {})}
    read_timeout, connect_timeout = _timeouts(timeout)
    return OpenWebUIClient(
        api_base or None,
        api_key or None,
        timeout=read_timeout,
        connect_timeout=connect_timeout,
        max_retries=optional_params.get("max_retries"),
        headers=extra_headers or None,
        async_transport_factory=_aiohttp_transport,
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


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    """The core's token counts in OpenAI's `usage` form, which LiteLLM's `Usage` takes."""
    if usage is None:
        return None
    block: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    prompt = {"cached_tokens": usage.cached_input_tokens, "audio_tokens": usage.audio_input_tokens}
    completion = {
        "reasoning_tokens": usage.reasoning_tokens,
        "audio_tokens": usage.audio_output_tokens,
    }
    for key, details in (
        ("prompt_tokens_details", prompt),
        ("completion_tokens_details", completion),
    ):
        if any(value is not None for value in details.values()):
            block[key] = {name: value for name, value in details.items() if value is not None}
    return block


def _provider_fields(
    citations: tuple[Citation, ...], extra: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Open WebUI's own fields for LiteLLM's `provider_specific_fields`: `sources` as citations,
    anything else the server added as sent."""
    fields = {key: value for key, value in extra.items() if key != "sources"}
    if citations:
        fields["sources"] = [citation.as_dict() for citation in citations]
    return fields or None


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _choice(choice: Choice, provider_fields: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": choice.content,
        "tool_calls": [_tool_call(call) for call in choice.tool_calls] or None,
    }
    if choice.reasoning is not None:
        message["reasoning_content"] = choice.reasoning
    if provider_fields:
        message["provider_specific_fields"] = provider_fields
    return {
        "index": choice.index,
        "finish_reason": choice.finish_reason,
        "message": message,
        "logprobs": choice.logprobs,
    }


def _model_response(answer: ChatAnswer, model_response: ModelResponse) -> ModelResponse:
    """The core's chat answer as LiteLLM's ModelResponse; `model` is the resolved id."""
    provider_fields = _provider_fields(answer.citations, answer.extra)
    data: dict[str, Any] = {
        "id": answer.id,
        "created": answer.created,
        "model": answer.model,
        "choices": [_choice(choice, provider_fields) for choice in answer.choices],
    }
    if answer.system_fingerprint is not None:
        data["system_fingerprint"] = answer.system_fingerprint
    if answer.usage is not None:
        data["usage"] = _usage(answer.usage)
    response = ModelResponse(**data)
    response._hidden_params = {**model_response._hidden_params, **response._hidden_params}
    return response


def _reasoning_chunk(chunk: StreamChunk) -> ModelResponseStream:
    # A GenericStreamingChunk has no place for reasoning; LiteLLM passes a custom provider's
    # ModelResponseStream through as is, so `delta.reasoning_content` is where users look.
    delta = Delta(content=None, reasoning_content=chunk.reasoning)
    return ModelResponseStream(
        id=chunk.id, model=chunk.model, choices=[StreamingChoices(index=chunk.index, delta=delta)]
    )


def _stream_chunks(
    chunk: StreamChunk,
) -> Iterator[GenericStreamingChunk | ModelResponseStream]:
    """One core stream chunk as LiteLLM `GenericStreamingChunk`s: one per tool-call delta.

    A chunk carries at most one tool call for LiteLLM, so a delta with several (parallel calls)
    becomes several chunks; the text, finish reason and usage ride on the first and last.
    Reasoning goes ahead as a `ModelResponseStream` (its `delta.reasoning_content`); Open
    WebUI's own fields (`sources`) ride in `provider_specific_fields`.
    `model` (the resolved id) reaches the chunks' `_hidden_params["provider_response_model"]`.
    """
    if chunk.reasoning:
        yield _reasoning_chunk(chunk)
        if not (chunk.content or chunk.tool_calls or chunk.finish_reason or chunk.usage):
            return
    tool_calls: tuple[ToolCallDelta | None, ...] = chunk.tool_calls or (None,)
    finish_reason = chunk.finish_reason or ""
    provider_fields = _provider_fields(chunk.citations, chunk.extra)
    last = len(tool_calls) - 1
    for position, tool_call in enumerate(tool_calls):
        generic: dict[str, Any] = {
            "text": chunk.content if position == 0 else "",
            "tool_use": _tool_call_delta(tool_call),
            "is_finished": bool(finish_reason) and position == last,
            "finish_reason": finish_reason if position == last else "",
            "usage": _usage(chunk.usage) if position == last else None,
            "index": chunk.index,
        }
        if provider_fields and position == 0:
            generic["provider_specific_fields"] = provider_fields
        if chunk.model:
            generic["model"] = chunk.model
        yield cast(GenericStreamingChunk, generic)  # plus `model`, which LiteLLM reads too


def _tool_call_delta(tool_call: ToolCallDelta | None) -> dict[str, Any] | None:
    if tool_call is None:
        return None
    return {
        "id": tool_call.id,
        "type": "function",
        "function": {"name": tool_call.name, "arguments": tool_call.arguments},
        "index": tool_call.index,
    }


def _embedding_response(
    answer: EmbeddingAnswer, model_response: EmbeddingResponse
) -> EmbeddingResponse:
    model_response.model = answer.model
    model_response.data = [
        {"object": "embedding", "index": index, "embedding": vector}
        for index, vector in enumerate(answer.vectors)
    ]
    model_response.object = "list"
    usage = _usage(answer.usage)
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
        with _map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            answer = client_.answer(_chat_body(model, messages, optional_params, logging_obj))
        remember_model(client_, model, answer.model)
        return _model_response(answer, model_response)

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
        with _map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            body = _chat_body(model, messages, optional_params, logging_obj)
            answer = await client_.aanswer(body)
        remember_model(client_, model, answer.model)
        return _model_response(answer, model_response)

    def streaming(  # type: ignore[override]  # reasoning chunks are ModelResponseStream
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
    ) -> Iterator[GenericStreamingChunk | ModelResponseStream]:
        # Not a generator: the request is made (and its first chunk read) inside `completion()`,
        # so a wrong key or model raises there, where LiteLLM's retries and fallbacks act.
        with _map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            raw = client_.stream_chat(_chat_body(model, messages, optional_params, logging_obj))
            first = next(raw, None)
        if first is not None:
            remember_model(client_, model, first.get("model"))
        return self._generic_stream(model, first, raw)

    @staticmethod
    def _generic_stream(
        model: str, first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]
    ) -> Iterator[GenericStreamingChunk | ModelResponseStream]:
        if first is None:
            return
        try:
            yield from _stream_chunks(read_stream_chunk(first))
            with _map_errors(model):
                for raw in rest:
                    yield from _stream_chunks(read_stream_chunk(raw))
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
    ) -> AsyncIterator[GenericStreamingChunk | ModelResponseStream]:
        # LiteLLM wraps this async generator before iterating it, so an error surfaces on the
        # first chunk (4xx as its LiteLLM class; others inside LiteLLM's MidStreamFallbackError
        # with is_pre_first_chunk=True, which the Router falls back on).
        with _map_errors(model):
            client_ = _client(api_base, api_key, timeout, headers, optional_params)
            body = _chat_body(model, messages, optional_params, logging_obj)
            remembered = False
            async for raw in client_.astream_chat(body):
                if not remembered:
                    remember_model(client_, model, raw.get("model"))
                    remembered = True
                for chunk in _stream_chunks(read_stream_chunk(raw)):
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
        with _map_errors(model):
            client_ = _client(api_base, api_key, timeout, None, optional_params)
            body = {**_body(model, optional_params, logging_obj), "input": input}
            answer = read_embedding_answer(client_.embed(body))
        remember_model(client_, model, answer.model, mode="embedding")
        return _embedding_response(answer, model_response)

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
        with _map_errors(model):
            client_ = _client(api_base, api_key, timeout, None, optional_params)
            body = {**_body(model, optional_params, logging_obj), "input": input}
            answer = read_embedding_answer(await client_.aembed(body))
        remember_model(client_, model, answer.model, mode="embedding")
        return _embedding_response(answer, model_response)


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


def _lookup_client() -> OpenWebUIClient:
    """The client a call uses for the server in the environment, without retries."""
    return _client(None, None, None, None, {"max_retries": 0})


register()
litellm_facts_on_demand.install(_lookup_client)  # LiteLLM's lookups learn the server's facts
