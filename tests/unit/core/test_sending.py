"""The request decisions of `_sending`, without sockets: where a redirect may go, when a key is
masked, how long a backoff lasts, what an answer to a stream request is read as, and the
effects a plan asks its driver for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openwebui_adapters import OpenWebUIClient
from openwebui_adapters import _sending as sending
from openwebui_adapters._plan import Effect, Open, Outgoing, Plan, Read, ReadAll, Send
from openwebui_adapters._sending import (
    BACKOFF_CAP,
    MAX_REDIRECTS,
    ChunkStream,
    backoff_delay,
    is_event_stream,
    redirect_target,
    without_key,
)
from openwebui_adapters.errors import ResponseError, RouteError, ServerError

KEY = "sk-unit-sending-0000"
USER = [{"role": "user", "content": "hello"}]


def step_through(plan: Plan[Any], answer: Callable[[Effect], Any]) -> tuple[list[Effect], Any]:
    """Perform `plan` by hand, `answer(effect)` being what each effect produced: the effects it
    asked for, in order, and what it returned."""
    effects: list[Effect] = []
    value = None
    while True:
        try:
            effect = plan.send(value)
        except StopIteration as stop:
            return effects, stop.value
        effects.append(effect)
        value = answer(effect)


# -- redirects ---------------------------------------------------------------------------------


def _redirect(method: str, status: int, sent: str, location: str) -> Outgoing | str:
    request = Outgoing(method, sent, {}, 5.0, params={"page": "1"})
    response = httpx.Response(status, headers={"location": location})
    return redirect_target(request, response)


@pytest.mark.parametrize(
    ("method", "status", "sent", "location"),
    [
        ("POST", 307, "http://owui.test/api/chat", "/v2/api/chat"),  # same origin
        ("POST", 308, "http://owui.test/api/chat", "https://owui.test/api/chat"),  # upgrade
        ("POST", 308, "http://owui.test:80/api/chat", "https://owui.test:443/api/chat"),
        ("GET", 301, "http://owui.test/api/models", "/api/models/"),
        ("GET", 302, "https://owui.test/api/models", "https://owui.test/v2/api/models"),
        ("HEAD", 303, "http://owui.test/api/version", "/api/version/"),
    ],
)
def test_a_redirect_within_the_origin_is_followed_with_its_own_query(
    method: str, status: int, sent: str, location: str
) -> None:
    following = _redirect(method, status, sent, location)
    assert isinstance(following, Outgoing)
    assert following.url == str(httpx.URL(sent).join(location))
    assert following.method == method
    assert following.params is None  # the Location carries the query it wants


@pytest.mark.parametrize(
    ("sent", "location"),
    [
        pytest.param("http://owui.test/x", "https://other.test/x", id="another host"),
        pytest.param("http://owui.test/x", "http://owui.test:443/x", id="another port, still http"),
        pytest.param("https://owui.test:80/x", "https://owui.test/x", id="off port 80 in https"),
        pytest.param(
            "http://owui.test:8080/x", "https://owui.test/x", id="https off a custom port"
        ),
        pytest.param("http://owui.test/x", "https://owui.test:8443/x", id="https to a custom port"),
        pytest.param("https://owui.test/x", "http://owui.test/x", id="a downgrade"),
    ],
)
def test_a_redirect_to_another_origin_is_not_followed(sent: str, location: str) -> None:
    assert _redirect("POST", 308, sent, location) == location


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_a_post_into_a_get_is_not_followed(status: int) -> None:
    assert _redirect("POST", status, "http://owui.test/api/chat", "/v2/api/chat") == (
        "http://owui.test/v2/api/chat"
    )


def test_a_redirect_answered_to_a_stream_request_is_read_before_the_request_goes_on() -> None:
    sender = OpenWebUIClient("http://owui.test", KEY)._sender
    moved = httpx.Response(307, headers={"location": "/v2/api/models"})
    arrived = httpx.Response(200)
    answers = iter([moved, arrived])

    def answer(effect: Effect) -> Any:
        return next(answers) if isinstance(effect, Open) else None

    effects, response = step_through(
        sender.exchange(sender.outgoing("GET", "/api/models"), stream=True), answer
    )
    assert response is arrived
    assert [type(e) for e in effects] == [Open, ReadAll, Open]
    assert effects[1] == ReadAll(moved)  # its connection let go, not held for the stream


def test_a_redirect_answered_to_a_whole_request_goes_on_without_another_read() -> None:
    sender = OpenWebUIClient("http://owui.test", KEY)._sender
    answers = iter(
        [httpx.Response(307, headers={"location": "/v2/api/models"}), httpx.Response(200)]
    )
    effects, _ = step_through(
        sender.exchange(sender.outgoing("GET", "/api/models")), lambda effect: next(answers)
    )
    assert [type(e) for e in effects] == [Send, Send]  # a Send's answer arrives read


def test_a_redirect_loop_stops_after_the_redirects_allowed() -> None:
    sent: list[httpx.Request] = []

    def loop(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(307, headers={"location": f"/hop{len(sent)}/api/chat/completions"})

    client = OpenWebUIClient("http://owui.test", KEY, transport=httpx.MockTransport(loop))
    with pytest.raises(RouteError):
        client.chat({"model": "stub-gpt", "messages": USER})
    assert [r.method for r in sent].count("POST") == MAX_REDIRECTS + 1


# -- the key in errors -------------------------------------------------------------------------


def test_a_key_too_short_to_be_told_from_text_is_not_masked() -> None:
    error = ServerError("a proxy said: key abc expired", body="abc")
    masked = without_key(error, "abc")
    assert masked.message == "a proxy said: key abc expired"
    assert masked.body == "abc"


# -- backoff -----------------------------------------------------------------------------------


def test_backoff_doubles_from_half_a_second_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending.random, "uniform", lambda low, high: high)  # the longest draw
    assert [backoff_delay(attempt) for attempt in (1, 2, 3, 4, 5, 6, 10)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        BACKOFF_CAP,
        BACKOFF_CAP,
        BACKOFF_CAP,
    ]


# -- what an answer to a stream request is read as ---------------------------------------------


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_a_failed_answer_is_never_read_as_an_event_stream(status: int) -> None:
    failed = httpx.Response(status, headers={"content-type": "text/event-stream"})
    assert not is_event_stream(failed)
    assert is_event_stream(httpx.Response(200, headers={"content-type": "text/event-stream"}))


def _answering(body: Any) -> OpenWebUIClient:
    def whole(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    return OpenWebUIClient("http://owui.test", KEY, transport=httpx.MockTransport(whole))


def test_a_whole_answer_to_a_stream_request_streams_as_one_chunk_of_its_message() -> None:
    answer = {
        "id": "chatcmpl-1",
        "model": "stub-gpt",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi"},
                "finish_reason": "stop",
            },
            {"index": 1, "finish_reason": "content_filter"},  # no message at all
        ],
    }
    chunks = list(_answering(answer).stream_chat({"model": "stub-gpt", "messages": USER}))
    assert len(chunks) == 1
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"},
        {"index": 1, "delta": {}, "finish_reason": "content_filter"},
    ]


@pytest.mark.parametrize("body", [[], {"detail": "not a chat"}, {"choices": "none"}])
def test_json_that_is_not_a_chat_completion_answered_to_a_stream_is_a_response_error(
    body: Any,
) -> None:
    with pytest.raises(ResponseError, match="answered a stream request with"):
        list(_answering(body).stream_chat({"model": "stub-gpt", "messages": USER}))


# -- after [DONE] ------------------------------------------------------------------------------


def test_after_done_the_rest_of_the_body_is_read_to_its_end_so_the_connection_is_reused() -> None:
    response = httpx.Response(200)
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "hi"}}]})
    pieces = iter([f"data: {chunk}\n\ndata: [DONE]\n\n", ": a comment after the end\n", None])

    def answer(effect: Effect) -> Any:
        assert isinstance(effect, Read)
        return next(pieces)

    stream = ChunkStream(response, "http://owui.test/api/chat/completions", [], KEY)
    effects, chunks = step_through(_every_chunk(stream), answer)
    assert [c["choices"][0]["delta"] for c in chunks] == [{"content": "hi"}]
    assert effects == [Read(response)] * 3  # to the body's end, and no Close
    assert next(pieces, "read") == "read"


def test_the_first_chunk_of_a_piece_goes_out_before_the_rest_is_decoded() -> None:
    """Time to first token: a piece holding a whole answer is not decoded before its first
    chunk is handed on; a line that is not JSON further on still fails the stream."""
    response = httpx.Response(200)
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "hi"}}]})
    piece = f"data: {chunk}\n\ndata: {{not json\n\ndata: [DONE]\n\n"
    stream = ChunkStream(response, "http://owui.test/api/chat/completions", [], KEY)
    _, first = step_through(stream.next_chunks(), lambda effect: piece)
    assert [c["choices"][0]["delta"] for c in first] == [{"content": "hi"}]
    with pytest.raises(ResponseError, match="not JSON"):
        step_through(stream.next_chunks(), lambda effect: None)


def _every_chunk(stream: ChunkStream) -> Plan[list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []
    while chunks := (yield from stream.next_chunks()):
        got += chunks
    return got


def test_a_stream_whose_last_line_is_done_without_its_line_break_ends_complete() -> None:
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "hi"}}]})

    def unterminated(request: httpx.Request) -> httpx.Response:
        body = f"data: {chunk}\n\ndata: [DONE]"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    client = OpenWebUIClient("http://owui.test", KEY, transport=httpx.MockTransport(unterminated))
    chunks = list(client.stream_chat({"model": "stub-gpt", "messages": USER}))
    assert [c["choices"][0]["delta"] for c in chunks] == [{"content": "hi"}]


@pytest.mark.parametrize(
    "body", ["data: {not json\n\n", "data: [DON"], ids=["a line not JSON", "cut before [DONE]"]
)
def test_a_stream_broken_before_its_first_chunk_is_a_response_error_not_retried(
    body: str,
) -> None:
    sent: list[httpx.Request] = []

    def broken(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    client = OpenWebUIClient("http://owui.test", KEY, transport=httpx.MockTransport(broken))
    with pytest.raises(ResponseError):
        list(client.stream_chat({"model": "stub-gpt", "messages": USER}))
    assert len(sent) == 1  # the server answered: nothing to send again
