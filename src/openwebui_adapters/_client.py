"""`OpenWebUIClient`: chat, streams, embeddings and models, with model names resolved for you.

The happy path costs one request: the name is sent as given (or as it resolved before). Only on
"Model not found" is the model list fetched, the name resolved, and the call sent once more; if
the server's own list turns out stale, it is asked to refresh once.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, NoReturn, TypeVar

import httpx

from ._answers import StreamFixer, check_chat_answer, embedding_count, is_joined_batch
from ._catalog import Catalog, ModelInfo, parse_models, resolve, suggest
from ._connection import AsyncTransportFactory, Connection, get_connection
from ._discovery import warn_once_if_session_token
from ._knowledge import KnowledgeMethods
from ._model_facts import ModelFactsMethods
from ._replies import ChatAnswer, StreamChunk, read_chat_answer, read_stream_chunk
from ._sending import RETRY_STATUSES, Sender
from ._settings import Settings
from ._tls import Verify
from .errors import (
    MODEL,
    ConfigurationError,
    ModelNotFoundError,
    OpenWebUIError,
    ResponseError,
    ServerError,
)

__all__ = [
    "CHAT_PATH",
    "EMBEDDINGS_PATH",
    "EMBEDDING_RETRY_STATUSES",
    "MAX_NESTING",
    "MODELS_PATH",
    "MODELS_TIMEOUT",
    "OpenWebUIClient",
    "build_chat_body",
    "check_model_name",
]

CHAT_PATH = "/api/chat/completions"
MODELS_PATH = "/api/models"
EMBEDDINGS_PATH = "/api/embeddings"
MODELS_TIMEOUT = 60.0
# Open WebUI answers an unknown embeddings model with a bare 500: not worth retrying blindly.
EMBEDDING_RETRY_STATUSES = RETRY_STATUSES - {500}

T = TypeVar("T")
_END: Any = object()


def check_model_name(name: Any) -> str:
    """The model name, or a ConfigurationError naming the setting."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(
            f"No model was given (got {name!r})",
            setting=MODEL,
            hint="pass the model as the server lists it, e.g. 'llama3:latest' "
            "(`openwebui-adapters models` lists them)",
        )
    return name.strip()


def build_chat_body(payload: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
    """The request body: None values dropped, never an empty `tools` list, usage asked for."""
    body = {key: value for key, value in payload.items() if value is not None}
    body["model"] = check_model_name(body.get("model"))
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigurationError(
            "A chat needs a non-empty list of messages",
            setting="messages",
            hint="pass messages=[{'role': 'user', 'content': '...'}]",
        )
    if not body.get("tools"):
        # An empty list breaks some backends (vLLM answers 400), and tool_choice needs tools.
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            body.pop(key, None)
    body["stream"] = stream
    if stream:
        body.setdefault("stream_options", {"include_usage": True})
    else:
        body.pop("stream_options", None)
    return body


MAX_NESTING = 64  # deeper than any real message; a circular reference stops here


def encode_chat_body(body: Mapping[str, Any]) -> bytes:
    """The body as JSON bytes, encoded as httpx would (so the encoding is also the check that
    it can be sent: a walk in Python cost more than the encoding for a long conversation);
    a ConfigurationError naming the value when it cannot be sent."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        _refuse_unsendable(body)
    return text.encode("utf-8")


def _refuse_unsendable(body: Mapping[str, Any]) -> NoReturn:
    """Name the value that cannot be sent (walked only once encoding has failed)."""
    for key, value in body.items():
        found = _unsendable(value, str(key))
        if found is not None:
            where, what = found
            raise ConfigurationError(
                f"{where} holds {what}, which cannot be sent as JSON",
                setting="messages" if where.startswith("messages") else str(key),
                hint="pass text, lists and dicts only (an image or file as a base64 data URL)",
            )
    raise ConfigurationError(
        "The request cannot be sent as JSON",
        setting="messages",
        hint="pass text, lists and dicts only (an image or file as a base64 data URL)",
    )


def _unsendable(value: Any, where: str, depth: int = 0) -> tuple[str, str] | None:
    """Where `value` holds something `json.dumps` would refuse, and what it is; None if nothing."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, f"the number {value!r}")
    if depth > MAX_NESTING and isinstance(value, (dict, list, tuple)):
        return where, "a structure nested too deeply (a circular reference?)"
    if isinstance(value, dict):
        for key, item in value.items():
            if key is not None and not isinstance(key, (str, int, float, bool)):
                return where, f"a key of type {_type_name(key)}"
            found = _unsendable(item, f"{where}.{key}", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _unsendable(item, f"{where}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    return where, f"a {_type_name(value)}"


def _type_name(value: Any) -> str:
    kind = type(value)
    name = kind.__qualname__
    return name if kind.__module__ == "builtins" else f"{kind.__module__}.{name}"


def _is_missing_model(error: OpenWebUIError) -> bool:
    return isinstance(error, ModelNotFoundError)


def _is_missing_embedding_model(error: OpenWebUIError) -> bool:
    return isinstance(error, ModelNotFoundError) or (
        isinstance(error, ServerError) and error.status_code == 500
    )


def _next_candidate(
    name: str, models: list[ModelInfo], tried: set[str], *, after_refresh: bool
) -> str | None:
    candidate = resolve(name, models)
    if candidate is None or (candidate in tried and not after_refresh):
        return None
    return candidate


def _final_model_error(name: str, models: list[ModelInfo], error: OpenWebUIError) -> OpenWebUIError:
    """The error to raise once resolving gave up: the model error with suggestions, or the original."""
    if not isinstance(error, ModelNotFoundError) and resolve(name, models) is not None:
        return error  # the model exists: the failure was something else
    if not models:
        return ModelNotFoundError(
            f"Open WebUI has no model {name!r}: this key's user sees no models at all",
            model=name,
            status_code=error.status_code,
            url=error.url,
            body=error.body,
            hint="ask the Open WebUI admin to grant this user access to models "
            "(a new user sees none until granted)",
        )
    return ModelNotFoundError(
        f"Open WebUI has no model {name!r}",
        model=name,
        suggestions=suggest(name, models),
        status_code=error.status_code,
        url=error.url,
        body=error.body,
    )


class _ModelAttempts:
    """Which id to send for a name: as given (or as it resolved before), then as resolved against
    the model list, then once more after asking the server to refresh its list."""

    def __init__(
        self, catalog: Catalog, name: str, is_missing: Callable[[OpenWebUIError], bool]
    ) -> None:
        self.catalog = catalog
        self.name = name
        self.is_missing = is_missing
        self.model_id = catalog.alias(name) or name
        self.tried: set[str] = set()
        self.refreshed = False
        self.error: OpenWebUIError | None = None

    def failed(self, error: OpenWebUIError) -> bool:
        """Record a failed send; re-raise what resolving cannot fix. True: fetch the list first."""
        if not self.is_missing(error):
            raise error
        if self.refreshed:
            raise _final_model_error(self.name, self.catalog.models or [], error) from error
        self.error = error
        self.tried.add(self.model_id)
        self.catalog.forget(self.name)
        return self.catalog.models is None

    def offer(self, models: list[ModelInfo], *, refreshed: bool) -> bool:
        """Pick the next id from `models`. True: nothing fits, ask for a refreshed list."""
        self.refreshed = self.refreshed or refreshed
        candidate = _next_candidate(self.name, models, self.tried, after_refresh=refreshed)
        if candidate is not None:
            self.model_id = candidate
            return False
        if not refreshed:
            return True
        assert self.error is not None
        raise _final_model_error(self.name, models, self.error) from self.error

    def succeeded(self) -> None:
        self.catalog.remember(self.name, self.model_id)


class OpenWebUIClient(ModelFactsMethods, KnowledgeMethods):
    """A client for one Open WebUI server; cheap to create.

    Clients of the same server, key and TLS trust share one pool and catalog, whatever their
    headers, timeouts and retries (those go with each request). `verify` is True, False, a CA
    bundle path, "system" (the OS trust store, needs `truststore`) or an `ssl.SSLContext`.
    `async_transport_factory` builds the async pool's transport (the LiteLLM adapter passes
    LiteLLM's aiohttp transport); clients with another factory use another pool.
    """

    def __init__(
        self,
        server_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        verify: Verify | None = None,
        headers: Mapping[str, str] | None = None,
        api_key_header: str | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        async_transport_factory: AsyncTransportFactory | None = None,
    ) -> None:
        self.settings = Settings.resolve(
            server_url,
            api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            verify=verify,
            headers=headers,
            api_key_header=api_key_header,
        )
        if transport is None:
            self.connection = get_connection(self.settings, async_transport_factory)
        else:
            # A private connection over a given transport (tests, fault injection).
            self.connection = Connection(
                self.settings,
                transport=transport if isinstance(transport, httpx.BaseTransport) else None,
                async_transport=transport
                if isinstance(transport, httpx.AsyncBaseTransport)
                else None,
            )
        self.connection.acquire()
        self._closed = False
        self.sender = Sender(self.connection, self.settings)
        self.catalog = self.connection.catalog
        warn_once_if_session_token(self.connection)

    def __repr__(self) -> str:
        return f"OpenWebUIClient(server_url={self.settings.server_url!r}, api_key='***')"

    # -- models ----------------------------------------------------------------------------
    def list_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """Every model this key may use (`refresh` asks the server to re-read its backends)."""
        payload = self.sender.request_json(
            "GET",
            MODELS_PATH,
            params={"refresh": "true"} if refresh else None,
            timeout=min(self.settings.timeout, MODELS_TIMEOUT),
        )
        models = parse_models(payload)
        self.catalog.store(models)
        return models

    async def alist_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The async twin of `list_models`."""
        payload = await self.sender.arequest_json(
            "GET",
            MODELS_PATH,
            params={"refresh": "true"} if refresh else None,
            timeout=min(self.settings.timeout, MODELS_TIMEOUT),
        )
        models = parse_models(payload)
        self.catalog.store(models)
        return models

    def resolve_model(self, name: str) -> str:
        """The server id for what the user wrote; ModelNotFoundError with suggestions if none."""
        name = check_model_name(name)
        models = self.catalog.models
        if models is None or resolve(name, models) is None:
            models = self.list_models()
        model_id = resolve(name, models)
        if model_id is None:
            raise _final_model_error(name, models, ModelNotFoundError("Model not found"))
        return model_id

    async def aresolve_model(self, name: str) -> str:
        """The async twin of `resolve_model`."""
        name = check_model_name(name)
        models = self.catalog.models
        if models is None or resolve(name, models) is None:
            models = await self.alist_models()
        model_id = resolve(name, models)
        if model_id is None:
            raise _final_model_error(name, models, ModelNotFoundError("Model not found"))
        return model_id

    def _with_model(
        self,
        name: str,
        send: Callable[[str], T],
        is_missing: Callable[[OpenWebUIError], bool] = _is_missing_model,
    ) -> T:
        attempts = _ModelAttempts(self.catalog, name, is_missing)
        while True:
            try:
                result = send(attempts.model_id)
            except OpenWebUIError as error:
                models = self.list_models() if attempts.failed(error) else self.catalog.models
                if attempts.offer(models or [], refreshed=False):
                    attempts.offer(self.list_models(refresh=True), refreshed=True)
                continue
            attempts.succeeded()
            return result

    async def _awith_model(
        self,
        name: str,
        send: Callable[[str], Awaitable[T]],
        is_missing: Callable[[OpenWebUIError], bool] = _is_missing_model,
    ) -> T:
        attempts = _ModelAttempts(self.catalog, name, is_missing)
        while True:
            try:
                result = await send(attempts.model_id)
            except OpenWebUIError as error:
                models = (
                    await self.alist_models() if attempts.failed(error) else self.catalog.models
                )
                if attempts.offer(models or [], refreshed=False):
                    attempts.offer(await self.alist_models(refresh=True), refreshed=True)
                continue
            attempts.succeeded()
            return result

    # -- chat ------------------------------------------------------------------------------
    def chat(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A chat completion (OpenAI format); `payload["model"]` as the user wrote it."""
        body = build_chat_body(payload, stream=False)
        self._prepare_files(body)
        name = body["model"]

        def send(model_id: str) -> dict[str, Any]:
            body["model"] = model_id
            encoded = encode_chat_body(body)
            result: dict[str, Any] = self.sender.request_json(
                "POST", CHAT_PATH, encoded, model=name
            )
            return result

        return check_chat_answer(self._with_model(name, send), self.connection.base_url + CHAT_PATH)

    async def achat(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The async twin of `chat`."""
        body = build_chat_body(payload, stream=False)
        await self._aprepare_files(body)
        name = body["model"]

        async def send(model_id: str) -> dict[str, Any]:
            body["model"] = model_id
            result: dict[str, Any] = await self.sender.arequest_json(
                "POST", CHAT_PATH, encode_chat_body(body), model=name
            )
            return result

        answer = await self._awith_model(name, send)
        return check_chat_answer(answer, self.connection.base_url + CHAT_PATH)

    def stream_chat(self, payload: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The chunks of a streamed chat completion, usage included on the last one."""
        body = build_chat_body(payload, stream=True)
        self._prepare_files(body)
        name = body["model"]

        def start(model_id: str) -> tuple[Any, Iterator[dict[str, Any]]]:
            # Reading the first chunk surfaces any error while a retry is still possible.
            encoded = encode_chat_body({**body, "model": model_id})
            chunks = self.sender.stream_chunks(CHAT_PATH, encoded, model=name)
            return next(chunks, _END), chunks

        first, chunks = self._with_model(name, start)
        if first is _END:
            return
        fix = StreamFixer()
        yield fix(first)
        for chunk in chunks:
            yield fix(chunk)

    async def astream_chat(self, payload: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The async twin of `stream_chat`."""
        body = build_chat_body(payload, stream=True)
        await self._aprepare_files(body)
        name = body["model"]

        async def start(model_id: str) -> tuple[Any, AsyncIterator[dict[str, Any]]]:
            encoded = encode_chat_body({**body, "model": model_id})
            chunks = self.sender.astream_chunks(CHAT_PATH, encoded, model=name)
            return await anext(chunks, _END), chunks

        first, chunks = await self._awith_model(name, start)
        if first is _END:
            return
        fix = StreamFixer()
        yield fix(first)
        async for chunk in chunks:
            yield fix(chunk)

    # -- the same, read ----------------------------------------------------------------------
    def answer(self, payload: Mapping[str, Any]) -> ChatAnswer:
        """`chat`, read into a typed `ChatAnswer` (text, tool calls, usage, reasoning, and the
        citations when the server retrieved from `files`)."""
        return read_chat_answer(self.chat(payload), self.connection.base_url + CHAT_PATH)

    async def aanswer(self, payload: Mapping[str, Any]) -> ChatAnswer:
        """The async twin of `answer`."""
        return read_chat_answer(await self.achat(payload), self.connection.base_url + CHAT_PATH)

    def stream_answer(self, payload: Mapping[str, Any]) -> Iterator[StreamChunk]:
        """`stream_chat`, each chunk read into a typed `StreamChunk` (the `sources` event too)."""
        chunks = self.stream_chat(payload)
        try:
            for chunk in chunks:
                yield read_stream_chunk(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a caller that stops early releases the connection now

    async def astream_answer(self, payload: Mapping[str, Any]) -> AsyncIterator[StreamChunk]:
        """The async twin of `stream_answer`."""
        chunks = self.astream_chat(payload)
        try:
            async for chunk in chunks:
                yield read_stream_chunk(chunk)
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    # -- embeddings ------------------------------------------------------------------------
    def embed(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Embeddings (OpenAI format) for `payload["input"]` (a string or a list of strings)."""
        body = {key: value for key, value in payload.items() if value is not None}
        name = body["model"] = check_model_name(body.get("model"))

        def send(inputs: Any) -> Any:
            def attempt(model_id: str) -> Any:
                return self.sender.request_json(
                    "POST",
                    EMBEDDINGS_PATH,
                    {**body, "model": model_id, "input": inputs},
                    model=name,
                    retry_statuses=EMBEDDING_RETRY_STATUSES,
                )

            return self._with_model(name, attempt, _is_missing_embedding_model)

        answer = send(body.get("input"))
        if is_joined_batch(body.get("input"), answer):
            answer = _merge_embeddings([send([text]) for text in body["input"]])
        return self._checked_embeddings(body.get("input"), answer)

    async def aembed(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The async twin of `embed`."""
        body = {key: value for key, value in payload.items() if value is not None}
        name = body["model"] = check_model_name(body.get("model"))

        async def send(inputs: Any) -> Any:
            async def attempt(model_id: str) -> Any:
                return await self.sender.arequest_json(
                    "POST",
                    EMBEDDINGS_PATH,
                    {**body, "model": model_id, "input": inputs},
                    model=name,
                    retry_statuses=EMBEDDING_RETRY_STATUSES,
                )

            return await self._awith_model(name, attempt, _is_missing_embedding_model)

        answer = await send(body.get("input"))
        if is_joined_batch(body.get("input"), answer):
            answer = _merge_embeddings([await send([text]) for text in body["input"]])
        return self._checked_embeddings(body.get("input"), answer)

    def _checked_embeddings(self, inputs: Any, answer: Any) -> dict[str, Any]:
        """The answer, if it holds one vector per input; never a silently shorter list."""
        expected = len(inputs) if isinstance(inputs, list) else 1
        count = embedding_count(answer)
        if count != expected:
            raise ResponseError(
                f"Expected {expected} embeddings, the server sent "
                f"{'none' if count is None else count}: {str(answer)[:200]!r}",
                url=self.connection.base_url + EMBEDDINGS_PATH,
                hint="the embedding backend answered badly; retry, or tell the Open WebUI admin",
            )
        result: dict[str, Any] = answer
        data = result["data"]
        if all(isinstance(item, dict) and "index" in item for item in data):
            # Some backends answer out of order; every library gets input order.
            result["data"] = sorted(data, key=lambda item: item["index"])
        return result

    # -- lifecycle -------------------------------------------------------------------------
    def _release(self) -> bool:
        """Give this client's hold on the pool back (once); True if no other client holds it."""
        if self._closed:
            return False
        self._closed = True
        return self.connection.release()

    def close(self) -> None:
        """Close the pools, unless another client still shares them (then they live on)."""
        if self._release():
            self.connection.close()

    async def aclose(self) -> None:
        """The async twin of `close` (closes the running loop's async pool)."""
        if self._release():
            await self.connection.aclose()


def _merge_embeddings(answers: list[Any]) -> dict[str, Any]:
    """One answer from per-input answers (the fallback for a server that joins a batch)."""
    data = []
    for index, answer in enumerate(answers):
        vectors = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(vectors, list) or len(vectors) != 1:
            raise ResponseError(
                f"Expected 1 embedding for input {index}, got {str(answer)[:120]!r}"
            )
        data.append({**vectors[0], "index": index})
    usage = [a.get("usage") for a in answers if isinstance(a.get("usage"), dict)]
    merged: dict[str, Any] = {**answers[0], "data": data}
    if usage:
        merged["usage"] = {
            key: sum(u.get(key, 0) for u in usage if isinstance(u.get(key, 0), int))
            for key in usage[0]
            if isinstance(usage[0][key], int)
        }
    return merged
