"""LangChain messages to and from the OpenAI chat format that Open WebUI speaks for every model."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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

__all__ = [
    "chunk_from_openai_delta",
    "format_content",
    "message_from_openai",
    "message_to_openai",
    "messages_to_openai",
    "usage_from_openai",
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


def _arguments_text(arguments: Any) -> str | None:
    """Tool call arguments as JSON text (some backends send an object)."""
    if arguments is None or isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def _reasoning(data: Mapping[str, Any]) -> dict[str, Any]:
    reasoning = data.get("reasoning_content") or data.get("reasoning")
    return {"reasoning_content": reasoning} if isinstance(reasoning, str) and reasoning else {}


def message_from_openai(data: Mapping[str, Any]) -> AIMessage:
    """The assistant message of a chat completion as an `AIMessage`."""
    tool_calls: list[ToolCall] = []
    invalid_tool_calls: list[InvalidToolCall] = []
    for raw in data.get("tool_calls") or []:
        function = raw.get("function") or {}
        raw = {
            **raw,
            "function": {**function, "arguments": _arguments_text(function.get("arguments"))},
        }
        try:
            parsed = parse_tool_call(raw, return_id=True)
        except Exception as exc:  # the model wrote arguments that are not JSON
            invalid_tool_calls.append(make_invalid_tool_call(raw, str(exc)))
            continue
        if parsed is not None:
            tool_calls.append(parsed)  # type: ignore[arg-type]
    return AIMessage(
        content=data.get("content") or "",
        tool_calls=tool_calls,
        invalid_tool_calls=invalid_tool_calls,
        additional_kwargs=_reasoning(data),
    )


def chunk_from_openai_delta(delta: Mapping[str, Any]) -> AIMessageChunk | None:
    """One streamed `delta` as an `AIMessageChunk`, or None when it carries nothing."""
    chunks: list[ToolCallChunk] = [
        tool_call_chunk(
            name=(raw.get("function") or {}).get("name"),
            args=_arguments_text((raw.get("function") or {}).get("arguments")),
            id=raw.get("id"),
            index=raw.get("index", position),
        )
        for position, raw in enumerate(delta.get("tool_calls") or [])
    ]
    content = delta.get("content") or ""
    reasoning = _reasoning(delta)
    if not (content or chunks or reasoning):
        return None
    return AIMessageChunk(content=content, tool_call_chunks=chunks, additional_kwargs=reasoning)


def _count(usage: Mapping[str, Any], *keys: str) -> int:
    return next((int(usage[k]) for k in keys if isinstance(usage.get(k), (int, float))), 0)


def usage_from_openai(usage: Mapping[str, Any]) -> UsageMetadata:
    """OpenAI `usage` (Ollama backends add their own fields) as LangChain's `UsageMetadata`."""
    input_tokens = _count(usage, "prompt_tokens", "input_tokens")
    output_tokens = _count(usage, "completion_tokens", "output_tokens")
    total = usage.get("total_tokens")
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    input_details = {
        "audio": prompt_details.get("audio_tokens"),
        "cache_read": prompt_details.get("cached_tokens"),
    }
    output_details = {
        "audio": completion_details.get("audio_tokens"),
        "reasoning": completion_details.get("reasoning_tokens"),
    }
    metadata = UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=int(total) if isinstance(total, int) else input_tokens + output_tokens,
    )
    if any(v is not None for v in input_details.values()):
        metadata["input_token_details"] = InputTokenDetails(
            **{k: v for k, v in input_details.items() if v is not None}  # type: ignore[typeddict-item]
        )
    if any(v is not None for v in output_details.values()):
        metadata["output_token_details"] = OutputTokenDetails(
            **{k: v for k, v in output_details.items() if v is not None}  # type: ignore[typeddict-item]
        )
    return metadata
