"""`OpenWebUILLM`, LiteLLM's handler for `openwebui/<model>`: every call goes through the core.

The handler only translates: LiteLLM's keyword arguments into a `Call` (read once for every
method), the core's typed answers into LiteLLM's objects, the core's errors into LiteLLM's
classes. Routes, model ids, retries and the diagnosis of failures live in the core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from typing import Any, Final

from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import (
    EmbeddingResponse,
    GenericStreamingChunk,
    ModelResponse,
    ModelResponseStream,
)

from openwebui_adapters._replies import ChatAnswer, EmbeddingAnswer, StreamChunk

from ._calls import Call
from ._errors import map_errors
from ._models import remember_model
from ._results import embedding_response, model_response, stream_chunks

__all__ = ["OpenWebUILLM", "handler"]

Chunk = GenericStreamingChunk | ModelResponseStream


class OpenWebUILLM(CustomLLM):
    """LiteLLM's handler for `openwebui/<model>` (LiteLLM calls its methods with keywords)."""

    def completion(self, **arguments: Any) -> ModelResponse:  # type: ignore[override]
        call = Call.of(arguments)
        with map_errors(call.model):
            answer = call.client.answer(call.chat_body())
        return _chat_response(call, answer)

    async def acompletion(self, **arguments: Any) -> ModelResponse:  # type: ignore[override]
        call = Call.of(arguments)
        with map_errors(call.model):
            answer = await call.client.aanswer(call.chat_body())
        return _chat_response(call, answer)

    def streaming(self, **arguments: Any) -> Iterator[Chunk]:  # type: ignore[override]
        # Not a generator: the request is made (and its first chunk read) inside `completion()`,
        # so a wrong key or model raises there, where LiteLLM's retries and fallbacks act.
        call = Call.of(arguments)
        with map_errors(call.model):
            chunks = call.client.stream_answer(call.chat_body())
            first = next(chunks, None)
        return _rest(call, first, chunks)

    async def astreaming(self, **arguments: Any) -> AsyncIterator[Chunk]:  # type: ignore[override]
        # LiteLLM wraps this async generator before iterating it, so an error surfaces on the
        # first chunk (4xx as its LiteLLM class; others inside LiteLLM's MidStreamFallbackError
        # with is_pre_first_chunk=True, which the Router falls back on).
        call = Call.of(arguments)
        with map_errors(call.model):
            async for chunk in call.client.astream_answer(call.chat_body()):
                for piece in _pieces(call, chunk):
                    yield piece

    def embedding(self, **arguments: Any) -> EmbeddingResponse:  # type: ignore[override]
        call = Call.of(arguments)
        with map_errors(call.model):
            answer = call.client.embeddings(call.embedding_body())
        return _embedding_response(call, answer)

    async def aembedding(self, **arguments: Any) -> EmbeddingResponse:  # type: ignore[override]
        call = Call.of(arguments)
        with map_errors(call.model):
            answer = await call.client.aembeddings(call.embedding_body())
        return _embedding_response(call, answer)


def _chat_response(call: Call, answer: ChatAnswer) -> ModelResponse:
    remember_model(call.client, call.model, answer.model)
    return model_response(answer, call.model_response)


def _embedding_response(call: Call, answer: EmbeddingAnswer) -> EmbeddingResponse:
    remember_model(call.client, call.model, answer.model, mode="embedding")
    return embedding_response(answer, call.model_response)


def _pieces(call: Call, chunk: StreamChunk) -> Iterator[Chunk]:
    """A core chunk as LiteLLM's; the first registers the model (the id it resolved to)."""
    if call.remember_once():
        remember_model(call.client, call.model, chunk.model)
    return stream_chunks(chunk)


def _rest(call: Call, first: StreamChunk | None, rest: Iterator[StreamChunk]) -> Iterator[Chunk]:
    if first is None:
        return
    with closing(rest):  # type: ignore[type-var]  # a generator: stopping early frees it
        yield from _pieces(call, first)
        with map_errors(call.model):
            for chunk in rest:
                yield from _pieces(call, chunk)


handler: Final = OpenWebUILLM()
"""The handler instance; the Proxy's `custom_provider_map` names it `openwebui_adapters.litellm.handler`."""
