"""The core reads the server's answers once: usage, tool calls, reasoning, sources, extras."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openwebui_adapters._replies import (
    Citation,
    StreamFixer,
    Usage,
    citations_from_sources,
    fix_chat_answer,
    read_chat_answer,
    read_embedding_answer,
    read_stream_chunk,
    read_usage,
)
from openwebui_adapters.errors import ResponseError
from samples import sample_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}, Usage(5, 2, 7)),
        ({"input_tokens": 5, "output_tokens": 2}, Usage(5, 2, 7)),
        ({"prompt_tokens": 5.0, "completion_tokens": 2.0, "total_tokens": 7.0}, Usage(5, 2, 7)),
        ({"prompt_eval_count": 4, "eval_count": 3}, Usage(4, 3, 7)),
        ({"prompt_tokens": 2}, Usage(2, 0, 2)),
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 4,
                "total_tokens": 14,
                "prompt_tokens_details": {"cached_tokens": 6, "audio_tokens": 1},
                "completion_tokens_details": {"reasoning_tokens": 2},
            },
            Usage(10, 4, 14, cached_input_tokens=6, reasoning_tokens=2, audio_input_tokens=1),
        ),
    ],
    ids=["openai", "input_tokens", "floats", "ollama-native", "partial", "details"],
)
def test_usage_is_read_whatever_the_backend_calls_it(raw: dict, expected: Usage) -> None:
    assert read_usage(raw) == expected


@pytest.mark.parametrize("raw", [None, {}, {"prompt_tokens": True}, {"other": 1}, "5"])
def test_usage_without_a_count_is_none(raw: object) -> None:
    assert read_usage(raw) is None


def test_tool_call_arguments_are_json_text_with_the_characters_as_written() -> None:
    answer = read_chat_answer(
        {
            "choices": [
                {
                    "message": {
                        "content": None,
                        "tool_calls": [
                            {"function": {"name": "weather", "arguments": {"city": "Zürich"}}},
                            {"id": "b", "function": {"name": "noargs", "arguments": None}},
                            {"id": "c", "function": {"arguments": "{}"}},  # no name: unusable
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        }
    )
    first, second = answer.tool_calls
    assert first.arguments == '{"city": "Zürich"}'
    assert json.loads(first.arguments) == {"city": "Zürich"}
    assert (first.id, first.index) == ("call_0", 0)  # a call without an id gets one
    assert (second.id, second.arguments) == ("b", "")
    assert answer.content is None
    assert answer.finish_reason == "tool_calls"


def test_every_choice_is_read_and_the_first_is_the_answer() -> None:
    answer = read_chat_answer(
        {
            "choices": [
                {"index": 0, "message": {"content": "one"}, "finish_reason": "stop"},
                {"index": 1, "message": {"content": "two"}, "finish_reason": "length"},
            ]
        }
    )
    assert [(c.index, c.content, c.finish_reason) for c in answer.choices] == [
        (0, "one", "stop"),
        (1, "two", "length"),
    ]
    assert answer.content == "one"


def test_reasoning_is_read_under_either_name() -> None:
    for key in ("reasoning_content", "reasoning"):
        answer = read_chat_answer({"choices": [{"message": {"content": "a", key: "why"}}]})
        assert answer.reasoning == "why"
        chunk = read_stream_chunk({"choices": [{"delta": {key: "wh"}}]})
        assert chunk.reasoning == "wh"
        assert not chunk.is_empty


def test_content_blocks_are_read_as_their_text() -> None:
    message = {"content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "you"}]}
    assert read_chat_answer({"choices": [{"message": message}]}).content == "Hello you"


@pytest.mark.parametrize(
    "answer",
    [{"choices": []}, {"choices": [{"finish_reason": "stop"}]}, {"choices": [{"message": None}]}],
)
def test_an_answer_without_a_message_is_a_response_error(answer: dict) -> None:
    with pytest.raises(ResponseError, match="no message"):
        read_chat_answer(answer, "http://server/api/chat/completions")


def test_the_servers_own_fields_are_kept_and_its_sources_read() -> None:
    raw = json.loads(sample_text("chat_sources_nostream"))
    answer = read_chat_answer(raw)
    assert answer.extra["sources"] == raw["sources"]
    assert "choices" not in answer.extra
    assert "usage" not in answer.extra
    (citation,) = answer.citations
    assert citation.document.startswith("The zebra named Ziggy")
    assert (citation.source_type, citation.file_name) == ("file", "zebra.txt")
    assert citation.source_id == citation.file_id == raw["sources"][0]["source"]["id"]
    assert citation.distance == pytest.approx(0.686, abs=1e-3)
    assert citation.metadata["start_index"] == 0


def test_a_collection_gives_one_citation_per_chunk_in_order() -> None:
    raw = json.loads(sample_text("chat_sources_collection_nostream"))
    citations = read_chat_answer(raw).citations
    assert [c.file_name for c in citations] == ["invoices.md", "zebra.txt"]
    assert {c.source_type for c in citations} == {"collection"}
    assert [c.distance for c in citations] == raw["sources"][0]["distances"]


def test_a_sources_event_without_choices_is_a_chunk_with_citations_and_no_text() -> None:
    first_event = sample_text("chat_sources_stream").split("\n\n")[0].removeprefix("data: ")
    chunk = read_stream_chunk(json.loads(first_event))
    assert chunk.is_empty
    assert [c.file_name for c in chunk.citations] == ["zebra.txt"]
    assert "sources" in chunk.extra


def test_sources_tolerate_missing_and_malformed_parts() -> None:
    sources = [
        "not an entry",
        {"source": {"type": "collection", "id": "k", "name": "HR"}, "document": ["a", "b"]},
        {"source": None, "document": ["c"], "metadata": ["x"], "distances": ["far"]},
        {"source": {"type": "file", "meta": {"name": "f.txt"}}, "document": [3]},
    ]
    assert citations_from_sources(sources) == (
        Citation("a", "collection", "k", "HR"),
        Citation("b", "collection", "k", "HR"),
        Citation("c"),
        Citation("3", "file", None, "f.txt"),
    )
    assert citations_from_sources(None) == ()


def test_stream_deltas_of_a_tool_call_keep_their_index_and_fragments() -> None:
    chunk = read_stream_chunk(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 1, "id": "c", "function": {"name": "f", "arguments": "{"}},
                            {"function": {"arguments": {"n": 1}}},
                        ]
                    },
                }
            ]
        }
    )
    first, second = chunk.tool_calls
    assert (first.index, first.id, first.name, first.arguments) == (1, "c", "f", "{")
    assert (second.index, second.arguments) == (1, '{"n": 1}')


def test_the_stream_fixer_names_a_tool_call_that_starts_without_an_id_once() -> None:
    fix = StreamFixer()
    start = fix({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0}]}}]})
    more = fix({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0}]}}]})
    given = fix({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "id": "x"}]}}]})
    assert start["choices"][0]["delta"]["tool_calls"][0]["id"] == "call_0"
    assert "id" not in more["choices"][0]["delta"]["tool_calls"][0]  # a continuation
    assert given["choices"][0]["delta"]["tool_calls"][0]["id"] == "x"


def test_embedding_vectors_in_order() -> None:
    answer = read_embedding_answer(
        {
            "model": "e",
            "data": [{"embedding": [0.1]}, {"embedding": [0.2, 0.3]}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
    )
    assert answer.vectors == ([0.1], [0.2, 0.3])
    assert answer.usage == Usage(3, 0, 3)


def _calls(chunk: dict[str, Any]) -> Any:
    return chunk["choices"][0]["delta"]["tool_calls"]


def test_the_stream_fixer_names_a_call_by_its_own_index_else_its_position() -> None:
    fix = StreamFixer()
    second = fix({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1}]}}]})
    assert _calls(second)[0]["id"] == "call_1"  # alone in its chunk, yet the second call
    unindexed = StreamFixer()({"choices": [{"delta": {"tool_calls": [{}, {"index": "x"}]}}]})
    assert [call["id"] for call in _calls(unindexed)] == ["call_0", "call_1"]


@pytest.mark.parametrize("calls", [7, [None, "x"]])
def test_the_stream_fixer_passes_calls_that_are_not_objects_untouched(calls: Any) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": calls}}]}
    assert _calls(StreamFixer()(chunk)) == calls


def test_the_stream_fixer_names_the_calls_among_malformed_ones() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [None, {"index": 1}]}}]}
    assert _calls(StreamFixer()(chunk)) == [None, {"index": 1, "id": "call_1"}]


def test_a_whole_answer_names_its_calls_among_malformed_ones() -> None:
    message = {"role": "assistant", "tool_calls": [None, {"function": {"name": "f"}}]}
    fixed = fix_chat_answer({"choices": [{"index": 0, "message": message}]})
    assert fixed["choices"][0]["message"]["tool_calls"] == [
        None,
        {"function": {"name": "f"}, "id": "call_1"},
    ]


def test_a_body_that_is_no_chat_answer_names_no_url_when_none_was_given() -> None:
    with pytest.raises(ResponseError) as caught:
        fix_chat_answer(None)
    assert caught.value.url is None
