"""Results out: the core's typed answers as LiteLLM's objects (`ModelResponse`, stream chunks,
`EmbeddingResponse`). Open WebUI's sources go out as the same citation dicts in every library."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

import litellm
from litellm.types.utils import (
    Delta,
    EmbeddingResponse,
    GenericStreamingChunk,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
)

from openwebui_adapters._replies import (
    ChatAnswer,
    Choice,
    Citation,
    EmbeddingAnswer,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["embedding_response", "model_response", "stream_chunks"]


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


def model_response(answer: ChatAnswer, template: ModelResponse) -> ModelResponse:
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
    response._hidden_params = {**template._hidden_params, **response._hidden_params}
    return response


def _reasoning_chunk(chunk: StreamChunk) -> ModelResponseStream:
    # A GenericStreamingChunk has no place for reasoning; LiteLLM passes a custom provider's
    # ModelResponseStream through as is, so `delta.reasoning_content` is where users look.
    delta = Delta(content=None, reasoning_content=chunk.reasoning)
    return ModelResponseStream(
        id=chunk.id, model=chunk.model, choices=[StreamingChoices(index=chunk.index, delta=delta)]
    )


def stream_chunks(
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


def embedding_response(answer: EmbeddingAnswer, response: EmbeddingResponse) -> EmbeddingResponse:
    """The core's embeddings as LiteLLM's `EmbeddingResponse` (the one LiteLLM passed in)."""
    response.model = answer.model
    response.data = [
        {"object": "embedding", "index": index, "embedding": vector}
        for index, vector in enumerate(answer.vectors)
    ]
    response.object = "list"
    usage = _usage(answer.usage)
    if usage is not None:
        response.usage = litellm.Usage(**usage)
    return response
