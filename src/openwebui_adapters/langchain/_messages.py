"""LangChain messages to and from the OpenAI chat format that Open WebUI speaks for every model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators.openai import convert_to_openai_data_block
from langchain_core.messages.content import is_data_content_block
from langchain_core.messages.tool import ToolCall, ToolCallChunk, tool_call_chunk
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

from openwebui_adapters._replies import ChatAnswer, Choice, Citation, StreamChunk, Usage

__all__ = [
    "chunk_from_stream",
    "format_content",
    "message_from_answer",
    "message_to_openai",
    "messages_to_openai",
    "sources_metadata",
    "usage_metadata",
]

# Blocks that record what a model produced (tool calls travel in `tool_calls`; reasoning is not
# replayable): never sent back as content.
_OUTPUT_ONLY_BLOCKS = frozenset(
    {
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_result",
        "thinking",
        "redacted_thinking",
        "reasoning",
    }
)

_ROLES: tuple[tuple[type[BaseMessage], str], ...] = (
    (HumanMessage, "user"),
    (AIMessage, "assistant"),
    (SystemMessage, "system"),
    (ToolMessage, "tool"),
)


def _format_block(block: str | dict[str, Any]) -> dict[str, Any] | None:
    """One content block in OpenAI form, or None for a block that is not sent."""
    if isinstance(block, str):
        return {"type": "text", "text": block}
    kind = block.get("type")
    if kind in _OUTPUT_ONLY_BLOCKS:
        return None
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if is_data_content_block(block):
        return convert_to_openai_data_block(block)
    source = block.get("source")
    if kind == "image" and isinstance(source, dict):  # Anthropic's image block
        url = (
            f"data:{source.get('media_type')};base64,{source.get('data')}"
            if source.get("type") == "base64"
            else source.get("url")
        )
        return {"type": "image_url", "image_url": {"url": url}}
    return block


def format_content(content: str | list[str | dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Message content in OpenAI form: a string when it is only text, else a list of blocks."""
    if isinstance(content, str):
        return content
    blocks = [b for b in map(_format_block, content) if b is not None]
    if all(block.get("type") == "text" for block in blocks):
        return "\n".join(block["text"] for block in blocks)
    return blocks


def _tool_call_to_openai(call: ToolCall | InvalidToolCall, arguments: str) -> dict[str, Any]:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": arguments},
    }


def message_to_openai(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as an OpenAI chat message dict."""
    if isinstance(message, ChatMessage):
        role = message.role
    else:
        role = next((r for cls, r in _ROLES if isinstance(message, cls)), "")
    if not role:
        raise TypeError(f"Open WebUI cannot take a {type(message).__name__} message")
    result: dict[str, Any] = {"role": role, "content": format_content(message.content)}
    if isinstance(message, SystemMessage):
        result["role"] = message.additional_kwargs.get("__openai_role__", "system")
    if isinstance(message, ToolMessage):
        result["tool_call_id"] = message.tool_call_id
        return result
    if message.name:
        result["name"] = message.name
    if isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls):
        result["tool_calls"] = [
            _tool_call_to_openai(call, json.dumps(call["args"], ensure_ascii=False))
            for call in message.tool_calls
        ] + [
            _tool_call_to_openai(call, call.get("args") or "")
            for call in message.invalid_tool_calls
        ]
    return result


def messages_to_openai(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as the `messages` list of an OpenAI chat body."""
    return [message_to_openai(message) for message in messages]


def _reasoning(reasoning: str | None) -> dict[str, Any]:
    return {"reasoning_content": reasoning} if reasoning else {}


def message_from_answer(answer: ChatAnswer, choice: Choice | None = None) -> AIMessage:
    """A choice of the core's chat answer (the first by default) as an `AIMessage`."""
    choice = choice or answer.choices[0]
    tool_calls: list[ToolCall] = []
    invalid_tool_calls: list[InvalidToolCall] = []
    for call in choice.tool_calls:
        raw = {"id": call.id, "function": {"name": call.name, "arguments": call.arguments}}
        try:
            parsed = parse_tool_call(raw, return_id=True)
        except Exception as exc:  # the model wrote arguments that are not JSON
            invalid_tool_calls.append(make_invalid_tool_call(raw, str(exc)))
            continue
        if parsed is not None:
            tool_calls.append(parsed)  # type: ignore[arg-type]
    return AIMessage(
        content=choice.content or "",
        tool_calls=tool_calls,
        invalid_tool_calls=invalid_tool_calls,
        additional_kwargs=_reasoning(choice.reasoning),
    )


def chunk_from_stream(chunk: StreamChunk) -> AIMessageChunk | None:
    """A core stream chunk's delta as an `AIMessageChunk`, or None when it carries nothing."""
    if chunk.is_empty:
        return None
    chunks: list[ToolCallChunk] = [
        tool_call_chunk(name=call.name, args=call.arguments or None, id=call.id, index=call.index)
        for call in chunk.tool_calls
    ]
    return AIMessageChunk(
        content=chunk.content,
        tool_call_chunks=chunks,
        additional_kwargs=_reasoning(chunk.reasoning),
    )


def usage_metadata(usage: Usage) -> UsageMetadata:
    """The core's token counts as LangChain's `UsageMetadata`."""
    metadata = UsageMetadata(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
    )
    input_details = {"audio": usage.audio_input_tokens, "cache_read": usage.cached_input_tokens}
    output_details = {"audio": usage.audio_output_tokens, "reasoning": usage.reasoning_tokens}
    if any(v is not None for v in input_details.values()):
        metadata["input_token_details"] = InputTokenDetails(
            **{k: v for k, v in input_details.items() if v is not None}  # type: ignore[typeddict-item]
        )
    if any(v is not None for v in output_details.values()):
        metadata["output_token_details"] = OutputTokenDetails(
            **{k: v for k, v in output_details.items() if v is not None}  # type: ignore[typeddict-item]
        )
    return metadata


def sources_metadata(citations: tuple[Citation, ...]) -> dict[str, Any]:
    """`{"sources": [...]}` for `response_metadata` when retrieval ran, else nothing."""
    return {"sources": [citation.as_dict() for citation in citations]} if citations else {}
