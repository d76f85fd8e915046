"""SSE decoding: chunks out, `[DONE]` required, bad lines and mid-stream errors reported."""

from __future__ import annotations

import pytest
from sse_lines import iter_chunks

from openwebui_adapters.errors import ResponseError, ServerError
from samples import sample_text


def test_real_stream_decodes_to_chunks_until_done() -> None:
    chunks = list(iter_chunks(iter(sample_text("chat_ollama_stream").splitlines())))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == (
        "Echo: hello world "
    )
    assert chunks[-1]["usage"]["total_tokens"] == 8


def test_stream_without_done_is_reported_not_truncated_silently() -> None:
    lines = sample_text("chat_openai_stream").splitlines()
    cut = [line for line in lines if "[DONE]" not in line]
    with pytest.raises(ResponseError, match=r"before \[DONE\]"):
        list(iter_chunks(iter(cut)))


def test_line_that_is_not_json_is_a_response_error() -> None:
    with pytest.raises(ResponseError, match="not JSON"):
        list(iter_chunks(iter(["data: {oops}", "", "data: [DONE]"])))


def test_multi_line_event_and_comments_and_event_fields() -> None:
    lines = [": keep-alive", "event: message", 'data: {"a":', "data: 1}", "", "data: [DONE]", ""]
    assert list(iter_chunks(iter(lines))) == [{"a": 1}]


def test_error_object_in_stream_raises_server_error() -> None:
    lines = ['data: {"error": {"message": "backend exploded"}}', "", "data: [DONE]"]
    with pytest.raises(ServerError, match="backend exploded"):
        list(iter_chunks(iter(lines)))


def test_lines_after_done_are_not_read() -> None:
    def lines():
        yield 'data: {"n": 1}'
        yield "data: [DONE]"
        raise AssertionError("read past [DONE]")

    assert list(iter_chunks(lines())) == [{"n": 1}]
