"""SSE decoding from the body's text as httpx reads it: pieces cut anywhere, SSE line endings only."""

from __future__ import annotations

import json

import pytest
from sse_lines import iter_chunks, iter_text_chunks

from openwebui_adapters.errors import ResponseError
from samples import sample_text


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
def test_any_cut_of_the_body_gives_the_same_chunks_as_its_lines(size: int) -> None:
    text = sample_text("tools_ollama_stream")
    assert list(iter_text_chunks(pieces(text, size))) == list(iter_chunks(text.splitlines()))


@pytest.mark.parametrize("size", [1, 5, 100_000])
@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings_even_when_cut_between_cr_and_lf(newline: str, size: int) -> None:
    text = sample_text("chat_openai_stream").replace("\n", newline)
    expected = list(iter_chunks(sample_text("chat_openai_stream").splitlines()))
    assert list(iter_text_chunks(pieces(text, size))) == expected


def test_unicode_line_separators_inside_json_do_not_cut_the_line() -> None:
    # httpx's iter_lines splits at these (str.splitlines); SSE ends lines at \r and \n only.
    content = "a\u2028b\u2029c\x85d\x0ce\x1cf"
    chunk = {"choices": [{"index": 0, "delta": {"content": content}}]}
    body = f"data: {json.dumps(chunk, ensure_ascii=False)}\n\ndata: [DONE]\n\n"
    assert [c["choices"][0]["delta"]["content"] for c in iter_text_chunks([body])] == [content]


def test_last_line_without_a_line_break_still_counts() -> None:
    body = 'data: {"n": 1}\n\ndata: [DONE]'
    assert list(iter_text_chunks(pieces(body, 4))) == [{"n": 1}]


def test_body_cut_inside_a_json_line_is_an_incomplete_stream() -> None:
    with pytest.raises(ResponseError, match=r"before \[DONE\]"):
        list(iter_text_chunks(['data: {"n": 1}\n\ndata: {"n"']))


def test_trailing_data_after_an_object_is_not_json() -> None:
    with pytest.raises(ResponseError, match="not JSON"):
        list(iter_text_chunks(['data: {"a": 1} {"b": 2}\n\ndata: [DONE]\n\n']))


def test_nothing_is_read_past_done() -> None:
    def body():
        yield 'data: {"n": 1}\n\ndata: [DONE]\n\n'
        raise AssertionError("read past [DONE]")

    assert list(iter_text_chunks(body())) == [{"n": 1}]
