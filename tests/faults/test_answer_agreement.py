"""One answer, three libraries: LiteLLM, LangChain and smolagents read every payload alike.

Each row of the table is what a server sends (a chat completion and the same answer streamed);
each library is called through its public API against a real socket serving that payload, and
what the user gets back is reduced to one comparable view. All three must give the row's
expected view, streamed or not. Rows come from Open WebUI's backends (Ollama tool calls as
objects, `input_tokens` usage, float counts, `reasoning`/`reasoning_content`) and from Open WebUI
itself (`sources` as a chunk without `choices`, recorded from a real 0.12.4 server).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from server import CHAT, Behaviour, Conn, FaultServer, Request, raw, sse, status
from smolagents.models import ChatMessage, agglomerate_stream_deltas

import openwebui_adapters.litellm  # noqa: F401  # registers openwebui/
from openwebui_adapters.langchain import ChatOpenWebUI
from openwebui_adapters.smolagents import OpenWebUIModel
from samples import sample_text

MODEL = "gpt-4o"
KEY = "sk-agreement-0000"
USER = [{"role": "user", "content": "Weather in Zürich?"}]


@dataclass(frozen=True)
class View:
    """What a user of any library can read from an answer, in one comparable form."""

    content: str
    tool_calls: tuple[tuple[str, Any], ...]  # (name, parsed arguments)
    usage: tuple[int, int, int] | None  # input, output, total
    reasoning: str | None = None
    sources: tuple[tuple[str, str | None, float | None], ...] = ()  # document, file, distance
    unescaped_arguments: bool = True  # non-ASCII stays as written in the JSON text


@dataclass(frozen=True)
class Row:
    name: str
    message: dict[str, Any]
    expected: View
    usage: dict[str, Any] | None = None
    finish_reason: str = "stop"
    top_level: dict[str, Any] = field(default_factory=dict)


def _completion(row: Row) -> dict[str, Any]:
    answer: dict[str, Any] = {
        **row.top_level,
        "id": "chatcmpl-agree",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": row.message, "finish_reason": row.finish_reason}],
    }
    if row.usage is not None:
        answer["usage"] = row.usage
    return answer


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    return json.dumps(
        {
            "id": "chatcmpl-agree",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def _events(row: Row) -> list[str]:
    """The row's answer as a stream: server fields first, the text in two pieces, each tool
    call's arguments in two fragments, finish, then usage in a chunk without choices."""
    events = [json.dumps(row.top_level)] if row.top_level else []
    message = row.message
    events.append(_chunk({"role": "assistant", "content": ""}))
    for key in ("reasoning_content", "reasoning"):
        if message.get(key):
            events.append(_chunk({key: message[key]}))
    content = message.get("content") or ""
    half = len(content) // 2
    for piece in (content[:half], content[half:]):
        if piece:
            events.append(_chunk({"content": piece}))
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        arguments = function.get("arguments")
        # A stream sends arguments as text fragments, written as the model wrote them.
        text = (
            arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        )
        start: dict[str, Any] = {"index": index, "type": "function"}
        if call.get("id"):
            start["id"] = call["id"]
        events.append(_chunk({"tool_calls": [{**start, "function": {"name": function["name"]}}]}))
        cut = len(text) // 2
        for fragment in (text[:cut], text[cut:]):
            events.append(
                _chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            )
    events.append(_chunk({}, row.finish_reason))
    if row.usage is not None:
        events.append(
            json.dumps({"id": "chatcmpl-agree", "model": MODEL, "choices": [], "usage": row.usage})
        )
    return events


def _call(name: str, arguments: Any, call_id: str | None = "call_1") -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id:
        call["id"] = call_id
    return call


SOURCES = json.loads(sample_text("chat_sources_nostream"))["sources"]
# What every library must show of them, written out (the recorded answer's one chunk).
SOURCE_VIEW = (
    (
        "The zebra named Ziggy sleeps in the savanna under acacia trees.",
        "zebra.txt",
        0.6860520839691162,
    ),
)

ROWS = [
    Row(
        "arguments as an object, not ASCII",
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call("weather", {"city": "Zürich"})],
        },
        View("", (("weather", {"city": "Zürich"}),), (5, 2, 7)),
        usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        finish_reason="tool_calls",
    ),
    Row(
        "arguments as JSON text, not ASCII",
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [_call("weather", '{"city": "Zürich"}')],
        },
        View("", (("weather", {"city": "Zürich"}),), None),
        finish_reason="tool_calls",
    ),
    Row(
        "two parallel calls, the first without an id",
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call("a", {"n": 1}, None), _call("b", {"n": 2}, "call_b")],
        },
        View("", (("a", {"n": 1}), ("b", {"n": 2})), (3, 4, 7)),
        usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        finish_reason="tool_calls",
    ),
    Row(
        "usage as input_tokens/output_tokens",
        {"role": "assistant", "content": "Sunny."},
        View("Sunny.", (), (5, 2, 7)),
        usage={"input_tokens": 5, "output_tokens": 2},
    ),
    Row(
        "usage counts as floats",
        {"role": "assistant", "content": "Sunny."},
        View("Sunny.", (), (5, 2, 7)),
        usage={"prompt_tokens": 5.0, "completion_tokens": 2.0, "total_tokens": 7.0},
    ),
    Row(
        "reasoning_content",
        {"role": "assistant", "content": "Sunny.", "reasoning_content": "Check the sky."},
        View("Sunny.", (), (5, 2, 7), reasoning="Check the sky."),
        usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    ),
    Row(
        "reasoning under its other name",
        {"role": "assistant", "content": "Sunny.", "reasoning": "Check the sky."},
        View("Sunny.", (), None, reasoning="Check the sky."),
    ),
    Row(
        "sources from retrieval, recorded from Open WebUI",
        {"role": "assistant", "content": "Ziggy sleeps under acacia trees."},
        View("Ziggy sleeps under acacia trees.", (), (25, 26, 51), sources=SOURCE_VIEW),
        usage={"prompt_tokens": 25, "completion_tokens": 26, "total_tokens": 51},
        top_level={"sources": SOURCES},
    ),
]


def _scripted(row: Row) -> Behaviour:
    def answer(conn: Conn, request: Request) -> None:
        body = request.json() or {}
        if body.get("stream"):
            sse(_events(row))(conn, request)
        else:
            status(200, _completion(row))(conn, request)

    return answer


# -- each library's answer reduced to a View ---------------------------------------------------


def _arguments(text: str) -> tuple[Any, bool]:
    return json.loads(text), "\\u" not in text


def _litellm_view(response: Any) -> View:
    message = response.choices[0].message
    calls = [(c.function.name, *_arguments(c.function.arguments)) for c in message.tool_calls or []]
    usage = getattr(response, "usage", None)
    fields = getattr(message, "provider_specific_fields", None) or {}
    return View(
        content=message.content or "",
        tool_calls=tuple((name, args) for name, args, _ in calls),
        usage=(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        if usage and usage.total_tokens
        else None,
        reasoning=getattr(message, "reasoning_content", None) or None,
        sources=tuple(
            (s["document"], s["file_name"], s["distance"]) for s in fields.get("sources", [])
        ),
        unescaped_arguments=all(ok for _, _, ok in calls),
    )


def _langchain_view(message: AIMessage) -> View:
    usage = message.usage_metadata
    return View(
        content=message.text,
        tool_calls=tuple((call["name"], call["args"]) for call in message.tool_calls),
        usage=(usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
        if usage
        else None,
        reasoning=message.additional_kwargs.get("reasoning_content"),
        sources=tuple(
            (s["document"], s["file_name"], s["distance"])
            for s in message.response_metadata.get("sources", [])
        ),
    )


def _smolagents_view(message: ChatMessage, raw_answer: dict[str, Any] | None) -> View:
    calls = [(c.function.name, *_arguments(c.function.arguments)) for c in message.tool_calls or []]
    usage = message.token_usage
    # smolagents has no field for reasoning or sources: they are in `raw`, the sources as the
    # same citation dicts the other libraries give.
    raw_message = (raw_answer or {}).get("choices", [{}])[0].get("message", {})
    reasoning = raw_message.get("reasoning_content") or raw_message.get("reasoning")
    return View(
        content=message.content or "",
        tool_calls=tuple((name, args) for name, args, _ in calls),
        usage=(usage.input_tokens, usage.output_tokens, usage.total_tokens)
        if usage and usage.total_tokens
        else None,
        reasoning=reasoning,
        sources=tuple(
            (s["document"], s["file_name"], s["distance"])
            for s in (raw_answer or {}).get("sources", [])
        ),
        unescaped_arguments=all(ok for _, _, ok in calls),
    )


def litellm_plain(url: str) -> View:
    response = litellm.completion(
        model=f"openwebui/{MODEL}", messages=USER, api_base=url, api_key=KEY
    )
    return _litellm_view(response)


def litellm_streamed(url: str) -> View:
    chunks = list(
        litellm.completion(
            model=f"openwebui/{MODEL}",
            messages=USER,
            api_base=url,
            api_key=KEY,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    return _litellm_view(litellm.stream_chunk_builder(chunks))


def litellm_astreamed(url: str) -> View:
    async def collect() -> list[Any]:
        response = await litellm.acompletion(
            model=f"openwebui/{MODEL}",
            messages=USER,
            api_base=url,
            api_key=KEY,
            stream=True,
            stream_options={"include_usage": True},
        )
        return [chunk async for chunk in response]

    return _litellm_view(litellm.stream_chunk_builder(asyncio.run(collect())))


def _chat_model(url: str) -> ChatOpenWebUI:
    return ChatOpenWebUI(model=MODEL, base_url=url, api_key=KEY)


def langchain_plain(url: str) -> View:
    return _langchain_view(_chat_model(url).invoke(USER))


def langchain_streamed(url: str) -> View:
    chunks = list(_chat_model(url).stream(USER))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    return _langchain_view(total)


def langchain_astreamed(url: str) -> View:
    async def collect() -> AIMessageChunk:
        total: AIMessageChunk | None = None
        async for chunk in _chat_model(url).astream(USER):
            total = chunk if total is None else total + chunk
        assert total is not None
        return total

    return _langchain_view(asyncio.run(collect()))


def smolagents_plain(url: str) -> View:
    message = OpenWebUIModel(MODEL, api_base=url, api_key=KEY).generate(USER)
    return _smolagents_view(message, message.raw)


def smolagents_streamed(url: str) -> View:
    deltas = list(OpenWebUIModel(MODEL, api_base=url, api_key=KEY).generate_stream(USER))
    return _smolagents_view(agglomerate_stream_deltas(deltas), None)


READERS: dict[str, Callable[[str], View]] = {
    "litellm": litellm_plain,
    "litellm stream": litellm_streamed,
    "litellm astream": litellm_astreamed,
    "langchain": langchain_plain,
    "langchain stream": langchain_streamed,
    "langchain astream": langchain_astreamed,
    "smolagents": smolagents_plain,
    "smolagents stream": smolagents_streamed,
}
# smolagents' stream deltas have no field for reasoning or Open WebUI's sources, and its
# agglomerated message no `raw`: those two columns are not comparable there.
_NOT_CARRIED = {"smolagents stream": ("reasoning", "sources")}
# LiteLLM's `stream_chunk_builder` counts tokens itself when a stream reports none (as for every
# provider): usage is compared only where the server sent it.
_ESTIMATES_USAGE = ("litellm stream", "litellm astream")


@pytest.fixture
def server() -> Any:
    with FaultServer() as fault_server:
        yield fault_server


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_library_reads_the_answer_alike(row: Row, reader: str, server: FaultServer) -> None:
    server.route(CHAT, _scripted(row))
    view = READERS[reader](server.url)
    expected = row.expected
    not_compared = list(_NOT_CARRIED.get(reader, ()))
    if row.usage is None and reader in _ESTIMATES_USAGE:
        not_compared.append("usage")
    for name in not_compared:
        view = View(**{**view.__dict__, name: getattr(expected, name)})
    assert view == expected


def test_a_sources_event_alone_before_the_answer_is_neither_lost_nor_fatal(
    server: FaultServer,
) -> None:
    """The real 0.12.4 stream of a chat with a file: `{"sources": [...]}` first, no choices."""
    server.route(CHAT, raw(200, sample_text("chat_sources_stream").encode(), "text/event-stream"))
    expected_sources = SOURCE_VIEW
    assert litellm_streamed(server.url).sources == expected_sources
    assert langchain_streamed(server.url).sources == expected_sources
    text = smolagents_streamed(server.url).content
    assert text.startswith("Echo: ")
    assert "zebra" in text
