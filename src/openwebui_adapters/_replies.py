"""The server's answers read once: release differences absorbed, then typed records.

Two steps, both here and nowhere else. First the answer is made the same across Open WebUI
releases and backends (`fix_chat_answer`, `StreamFixer`): before 0.8.2 an Ollama tool call ends
with "stop" (OpenAI's word is "tool_calls"), some backends send tool calls without an id, and
before 0.8.0 an Ollama embedding batch comes back as one vector. Then it is read into typed
records the three adapters only map: tool-call arguments as an object instead of JSON text,
usage as `input_tokens`/`output_tokens` (Ollama) or as floats, `reasoning_content` or
`reasoning`, and Open WebUI's own fields (`sources` when retrieval ran, first as a stream event
without `choices`). Pure functions over parsed JSON, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ._shapes import listed, mapping, number, text
from .errors import ResponseError

__all__ = [
    "ChatAnswer",
    "Choice",
    "Citation",
    "EmbeddingAnswer",
    "StreamChunk",
    "StreamFixer",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "citations_from_sources",
    "embedding_count",
    "fix_chat_answer",
    "is_joined_batch",
    "read_chat_answer",
    "read_embedding_answer",
    "read_stream_chunk",
    "read_usage",
]

# Fields of a chat answer or chunk that OpenAI defines; anything else the server added is kept
# in `extra` (its `sources` are also read into citations).
_OPENAI_ANSWER_FIELDS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
)


@dataclass(frozen=True)
class Usage:
    """Token counts. `total_tokens` is the server's, else input + output."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call; `arguments` is always JSON text, as OpenAI specifies."""

    id: str
    name: str
    arguments: str
    index: int = 0


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call: `arguments` is a fragment of JSON text."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Citation:
    """One retrieved chunk the answer drew on (or a knowledge search returned).

    `source_*` is the item the request named (a file or a knowledge collection); `file_*` the
    file the chunk came from; `distance` the retrieval score Open WebUI reports (its meaning
    depends on the vector store: lower is closer for cosine distance, higher for relevance).
    """

    document: str
    source_type: str | None = None
    source_id: str | None = None
    source_name: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    distance: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for a library's metadata dicts)."""
        return {
            "document": self.document,
            "source_type": self.source_type,
            "source_id": self.source_id,
            "source_name": self.source_name,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "distance": self.distance,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class Choice:
    """One choice of a chat completion: what the model said, called and reasoned."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    finish_reason: str | None = None
    index: int = 0
    logprobs: Any = None


@dataclass(frozen=True)
class ChatAnswer:
    """A chat completion, read. `content`, `tool_calls`, `reasoning` and `finish_reason` are
    the first choice's (the only one unless the request asked for `n`)."""

    choices: tuple[Choice, ...]
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    created: int | None = None
    system_fingerprint: str | None = None
    citations: tuple[Citation, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    """The server's own top-level fields (e.g. `sources`), as sent."""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The whole answer as the server sent it (after the core's release fixes)."""

    @property
    def content(self) -> str | None:
        return self.choices[0].content

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.choices[0].tool_calls

    @property
    def reasoning(self) -> str | None:
        return self.choices[0].reasoning

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason

    @property
    def raw_usage(self) -> Mapping[str, Any] | None:
        """The server's `usage` object as sent (backends add their own counters)."""
        usage = self.raw.get("usage")
        return usage if isinstance(usage, Mapping) else None


@dataclass(frozen=True)
class StreamChunk:
    """One streamed chunk, read. A chunk without `choices` (usage, or Open WebUI's `sources`
    event) reads as a chunk with no text; nothing in it is dropped."""

    content: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    system_fingerprint: str | None = None
    index: int = 0
    citations: tuple[Citation, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_empty(self) -> bool:
        """True when the chunk carries no text, reasoning or tool call (metadata may remain)."""
        return not (self.content or self.reasoning or self.tool_calls)


@dataclass(frozen=True)
class EmbeddingAnswer:
    """Vectors in the order of the inputs."""

    vectors: tuple[list[float], ...]
    model: str | None = None
    usage: Usage | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


# -- release differences ---------------------------------------------------------------------


def _tool_finish(choice: dict[str, Any], has_tool_calls: bool) -> None:
    # Before 0.8.2 the Ollama path ends a tool call with "stop"; OpenAI's word is "tool_calls".
    if has_tool_calls and choice.get("finish_reason") == "stop":
        choice["finish_reason"] = "tool_calls"


def _name_calls(calls: Any) -> None:
    """Give each tool call without an id one (`call_<position>`): libraries pair a call and its
    result by id, and some backends send none."""
    for position, call in enumerate(calls if isinstance(calls, list) else []):
        if isinstance(call, dict) and not call.get("id"):
            call["id"] = f"call_{position}"


def fix_chat_answer(answer: Any, url: str = "") -> dict[str, Any]:
    """A chat.completion made the same across releases (in place); a `null` or other body that
    is not one is a ResponseError."""
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise ResponseError(
            f"{url} answered a chat with {str(answer)[:120]!r} instead of a chat completion",
            url=url or None,
        )
    for choice in answer["choices"]:
        if isinstance(choice, dict):
            message = choice.get("message")
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            _name_calls(calls)
            _tool_finish(choice, bool(calls))
    return answer


class StreamFixer:
    """Per stream: remembers whether a tool call went by, so its final "stop" says "tool_calls",
    and gives a tool call that starts without an id one (`call_<index>`), as a whole answer's
    calls get one, so libraries that pair calls by id keep every call."""

    def __init__(self) -> None:
        self._tool_choices: set[int] = set()
        self._started_calls: set[tuple[int, int]] = set()

    def __call__(self, chunk: dict[str, Any]) -> dict[str, Any]:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta.get("tool_calls"):
                self._tool_choices.add(index)
                self._name_calls(index, delta["tool_calls"])
            _tool_finish(choice, index in self._tool_choices)
        return chunk

    def _name_calls(self, choice_index: int, calls: Any) -> None:
        if not isinstance(calls, list):
            return
        for position, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            call_index = call.get("index", position)
            key = (choice_index, call_index if isinstance(call_index, int) else position)
            if key not in self._started_calls:
                self._started_calls.add(key)
                if not call.get("id"):
                    call["id"] = f"call_{key[1]}"


def embedding_count(answer: Any) -> int | None:
    """How many vectors an embeddings answer holds, or None if it holds no list of them."""
    data = answer.get("data") if isinstance(answer, dict) else None
    return len(data) if isinstance(data, list) else None


def is_joined_batch(inputs: Any, answer: Any) -> TypeGuard[list[Any]]:
    """True when a batch came back as one vector: releases before 0.8.0 join an Ollama model's
    inputs with newlines and embed the result once."""
    return isinstance(inputs, list) and len(inputs) > 1 and embedding_count(answer) == 1


# -- reading ---------------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    """A token count: ints, and floats such as 5.0 that some backends send; never a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _first_count(raw: Mapping[str, Any], *keys: str) -> int | None:
    return next((c for c in (_count(raw.get(k)) for k in keys) if c is not None), None)


def _detail(raw: Mapping[str, Any], group: str, key: str) -> int | None:
    details = raw.get(group)
    return _count(details.get(key)) if isinstance(details, Mapping) else None


def read_usage(raw: Any) -> Usage | None:
    """OpenAI's `usage`, or Ollama's `input_tokens`/`output_tokens`; None when it holds no count."""
    if not isinstance(raw, Mapping):
        return None
    input_tokens = _first_count(raw, "prompt_tokens", "input_tokens", "prompt_eval_count")
    output_tokens = _first_count(raw, "completion_tokens", "output_tokens", "eval_count")
    total = _count(raw.get("total_tokens"))
    if input_tokens is None and output_tokens is None and total is None:
        return None
    input_tokens = input_tokens or 0
    output_tokens = output_tokens or 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total if total is not None else input_tokens + output_tokens,
        cached_input_tokens=_detail(raw, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(raw, "completion_tokens_details", "reasoning_tokens"),
        audio_input_tokens=_detail(raw, "prompt_tokens_details", "audio_tokens"),
        audio_output_tokens=_detail(raw, "completion_tokens_details", "audio_tokens"),
    )


def _arguments_text(arguments: Any) -> str:
    """Tool-call arguments as JSON text; an object (some backends send one) is dumped unescaped."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def _text(value: Any) -> str:
    """Message content as text: a string, or the text parts of a list of content blocks."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            part.get("text", "") if isinstance(part, Mapping) else str(part) for part in value
        )
    return ""


def _reasoning(message: Mapping[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _extra(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in _OPENAI_ANSWER_FIELDS}


def _item_name(item: Mapping[str, Any]) -> str | None:
    """A file or collection item's name: its own, or the one in its `meta` (a file record)."""
    meta = item.get("meta")
    return text(item.get("name")) or (text(meta.get("name")) if isinstance(meta, Mapping) else None)


def citations_from_sources(sources: Any) -> tuple[Citation, ...]:
    """Open WebUI's `sources` list (one entry per file or collection, with parallel lists of
    chunk texts, metadata and distances) as one `Citation` per chunk."""
    if not isinstance(sources, list):
        return ()
    citations: list[Citation] = []
    for entry in sources:
        if not isinstance(entry, Mapping):
            continue
        item = mapping(entry.get("source"))
        documents = listed(entry.get("document"))
        metadatas = listed(entry.get("metadata"))
        distances = listed(entry.get("distances"))
        for position, document in enumerate(documents):
            metadata = metadatas[position] if position < len(metadatas) else {}
            metadata = metadata if isinstance(metadata, Mapping) else {}
            citations.append(
                Citation(
                    document=document if isinstance(document, str) else str(document),
                    source_type=text(item.get("type")),
                    source_id=text(item.get("id")),
                    source_name=_item_name(item),
                    file_id=text(metadata.get("file_id")),
                    file_name=text(metadata.get("name")) or text(metadata.get("source")),
                    distance=number(distances[position]) if position < len(distances) else None,
                    metadata=dict(metadata),
                )
            )
    return tuple(citations)


def _tool_call(raw: Any, position: int) -> ToolCall | None:
    if not isinstance(raw, Mapping):
        return None
    function = mapping(raw.get("function"))
    name = function.get("name")
    if not isinstance(name, str) or not name:
        return None
    index = raw.get("index")
    return ToolCall(
        id=text(raw.get("id")) or "",  # `fix_chat_answer` gave each call one
        name=name,
        arguments=_arguments_text(function.get("arguments")),
        index=index if isinstance(index, int) else position,
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text(value)


def _choice(raw: Any, position: int) -> Choice | None:
    message = raw.get("message") if isinstance(raw, Mapping) else None
    if not isinstance(message, Mapping):
        return None
    calls = [_tool_call(call, i) for i, call in enumerate(listed(message.get("tool_calls")))]
    index = raw.get("index")
    return Choice(
        content=_text_or_none(message.get("content")),
        tool_calls=tuple(call for call in calls if call is not None),
        reasoning=_reasoning(message) or None,
        finish_reason=text(raw.get("finish_reason")),
        index=index if isinstance(index, int) else position,
        logprobs=raw.get("logprobs"),
    )


def read_chat_answer(answer: Any, url: str = "") -> ChatAnswer:
    """A chat.completion (made the same across releases first) as a `ChatAnswer`; a
    ResponseError when it holds no message."""
    answer = fix_chat_answer(answer, url)
    read = [_choice(raw, i) for i, raw in enumerate(listed(answer.get("choices")))]
    choices = tuple(choice for choice in read if choice is not None)
    if not choices:
        raise ResponseError(
            f"The chat answer has no message: {json.dumps(answer, default=str)[:200]!r}",
            url=url or None,
            hint="the model's backend sent an unusable answer; retry, or tell the admin",
        )
    created = answer.get("created")
    return ChatAnswer(
        choices=choices,
        usage=read_usage(answer.get("usage")),
        model=text(answer.get("model")),
        id=text(answer.get("id")),
        created=created if isinstance(created, int) and not isinstance(created, bool) else None,
        system_fingerprint=text(answer.get("system_fingerprint")),
        citations=citations_from_sources(answer.get("sources")),
        extra=_extra(answer),
        raw=answer,
    )


def _tool_call_delta(raw: Any, position: int) -> ToolCallDelta | None:
    if not isinstance(raw, Mapping):
        return None
    function = mapping(raw.get("function"))
    index = raw.get("index")
    return ToolCallDelta(
        # Some backends omit the index of a call sent whole: its position stands in.
        index=index if isinstance(index, int) else position,
        id=text(raw.get("id")),
        name=text(function.get("name")),
        arguments=_arguments_text(function.get("arguments")),
    )


def read_stream_chunk(chunk: Mapping[str, Any]) -> StreamChunk:
    """One chat.completion.chunk (or a chunk without `choices`) as a `StreamChunk`."""
    choices = chunk.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, Mapping) else {}
    delta = mapping(choice.get("delta"))
    raw_calls: Sequence[Any] = delta.get("tool_calls") or []
    calls = [_tool_call_delta(raw, i) for i, raw in enumerate(raw_calls)]
    index = choice.get("index")
    return StreamChunk(
        content=_text(delta.get("content")),
        tool_calls=tuple(call for call in calls if call is not None),
        reasoning=_reasoning(delta),
        finish_reason=text(choice.get("finish_reason")),
        usage=read_usage(chunk.get("usage")),
        model=text(chunk.get("model")),
        id=text(chunk.get("id")),
        system_fingerprint=text(chunk.get("system_fingerprint")),
        index=index if isinstance(index, int) else 0,
        citations=citations_from_sources(chunk.get("sources")),
        extra=_extra(chunk),
        raw=chunk,
    )


def read_embedding_answer(answer: Mapping[str, Any]) -> EmbeddingAnswer:
    """An embeddings answer (the client has checked the count and order) as vectors."""
    data = listed(answer.get("data"))
    vectors = tuple(
        list(item.get("embedding") or []) if isinstance(item, Mapping) else [] for item in data
    )
    return EmbeddingAnswer(
        vectors=vectors,
        model=text(answer.get("model")),
        usage=read_usage(answer.get("usage")),
        raw=answer,
    )
