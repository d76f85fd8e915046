"""LangChain messages to OpenAI chat dicts and back, as Open WebUI takes and gives them."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata

from openwebui_adapters._replies import read_chat_answer, read_stream_chunk, read_usage
from openwebui_adapters.langchain._messages import (
    chunk_from_stream,
    message_from_answer,
    message_to_openai,
    usage_metadata,
)
from samples import DATA


def message_from_openai(message: dict[str, Any]) -> AIMessage:
    return message_from_answer(read_chat_answer({"choices": [{"message": message}]}))


def chunk_from_openai_delta(delta: dict[str, Any]) -> AIMessageChunk | None:
    return chunk_from_stream(read_stream_chunk({"choices": [{"index": 0, "delta": delta}]}))


def usage_from_openai(usage: dict[str, Any]) -> UsageMetadata:
    read = read_usage(usage)
    assert read is not None
    return usage_metadata(read)


CALL = {"name": "lookup", "args": {"q": "你好"}, "id": "call_1", "type": "tool_call"}
OPENAI_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup", "arguments": '{"q": "你好"}'},
}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (SystemMessage("rules"), {"role": "system", "content": "rules"}),
        (
            SystemMessage("rules", additional_kwargs={"__openai_role__": "developer"}),
            {"role": "developer", "content": "rules"},
        ),
        (
            HumanMessage("hi", name="ann"),
            {"role": "user", "content": "hi", "name": "ann"},
        ),
        (ChatMessage("hi", role="user"), {"role": "user", "content": "hi"}),
        (
            ToolMessage("3", tool_call_id="call_1", name="lookup", status="error"),
            {"role": "tool", "content": "3", "tool_call_id": "call_1"},
        ),
        (
            AIMessage("", tool_calls=[CALL]),
            {"role": "assistant", "content": "", "tool_calls": [OPENAI_CALL]},
        ),
    ],
    ids=["system", "developer", "user-with-name", "chat-message", "tool", "ai-tool-call"],
)
def test_message_to_openai(message: object, expected: dict[str, object]) -> None:
    assert message_to_openai(message) == expected  # type: ignore[arg-type]


def test_tool_blocks_in_content_travel_only_as_tool_calls() -> None:
    """Anthropic `tool_use` and v1 `tool_call` blocks are dropped from content, not sent twice."""
    anthropic_style = AIMessage(
        [
            {"type": "text", "text": "some text"},
            {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "你好"}},
        ],
        tool_calls=[CALL],
    )
    v1_style = AIMessage(
        [{"type": "reasoning", "reasoning": "hmm"}, {**CALL, "type": "tool_call"}],
        tool_calls=[CALL],
    )
    assert message_to_openai(anthropic_style) == {
        "role": "assistant",
        "content": "some text",
        "tool_calls": [OPENAI_CALL],
    }
    assert message_to_openai(v1_style) == {
        "role": "assistant",
        "content": "",
        "tool_calls": [OPENAI_CALL],
    }


def test_invalid_tool_calls_are_sent_back_with_their_raw_arguments() -> None:
    message = AIMessage(
        "",
        invalid_tool_calls=[
            {
                "name": "lookup",
                "args": "{bad",
                "id": "call_9",
                "error": "x",
                "type": "invalid_tool_call",
            }
        ],
    )
    assert message_to_openai(message)["tool_calls"] == [
        {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{bad"}}
    ]


def test_text_blocks_join_into_a_string() -> None:
    message = HumanMessage(["first", {"type": "text", "text": "second", "index": 0}])
    assert message_to_openai(message)["content"] == "first\nsecond"


def test_images_in_every_langchain_form_become_image_url_blocks() -> None:
    data_url = "data:image/png;base64,iVBORw0KGgo="
    message = HumanMessage(
        [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": data_url}},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
            },
        ]
    )
    image = {"type": "image_url", "image_url": {"url": data_url}}
    assert message_to_openai(message)["content"] == [
        {"type": "text", "text": "what is this?"},
        image,
        image,
        image,
    ]


def test_an_unsupported_message_type_is_refused() -> None:
    with pytest.raises(TypeError, match="FunctionMessage"):
        message_to_openai(FunctionMessage("x", name="f"))


def test_message_from_openai_reads_tool_calls_whatever_the_arguments_form() -> None:
    message = message_from_openai(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                OPENAI_CALL,
                {"id": "call_2", "function": {"name": "noargs", "arguments": ""}},
                {"id": "call_3", "function": {"name": "as_object", "arguments": {"n": 3}}},
            ],
            "reasoning_content": "thinking",
        }
    )
    assert message.content == ""
    assert message.tool_calls == [
        CALL,
        {"name": "noargs", "args": {}, "id": "call_2", "type": "tool_call"},
        {"name": "as_object", "args": {"n": 3}, "id": "call_3", "type": "tool_call"},
    ]
    assert message.additional_kwargs == {"reasoning_content": "thinking"}


def test_an_empty_delta_makes_no_chunk() -> None:
    assert chunk_from_openai_delta({"role": "assistant", "content": ""}) is None
    assert chunk_from_openai_delta({}) is None


def test_delta_tool_call_fragments_become_tool_call_chunks() -> None:
    chunk = chunk_from_openai_delta(
        {"tool_calls": [{"index": 1, "id": "c", "function": {"name": "f", "arguments": "{"}}]}
    )
    assert chunk is not None
    assert chunk.tool_call_chunks == [
        {"name": "f", "args": "{", "id": "c", "index": 1, "type": "tool_call_chunk"}
    ]


def test_openai_usage_with_details() -> None:
    usage = usage_from_openai(
        {
            "prompt_tokens": 10,
            "completion_tokens": 4,
            "total_tokens": 14,
            "prompt_tokens_details": {"cached_tokens": 6},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    )
    assert usage == {
        "input_tokens": 10,
        "output_tokens": 4,
        "total_tokens": 14,
        "input_token_details": {"cache_read": 6},
        "output_token_details": {"reasoning": 2},
    }


def test_ollama_usage_as_open_webui_reports_it() -> None:
    import json

    body = json.loads((DATA / "chat_ollama_nostream.body").read_text())
    usage = usage_from_openai(body["usage"])
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (5, 3, 8)


def test_usage_without_a_total_adds_it_up() -> None:
    assert usage_from_openai({"prompt_tokens": 2, "completion_tokens": 3}) == {
        "input_tokens": 2,
        "output_tokens": 3,
        "total_tokens": 5,
    }
