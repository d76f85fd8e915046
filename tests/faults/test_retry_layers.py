"""One retry layer per call: the core's, or (only when the core's is off) smolagents' own.

smolagents' `ApiModel` retries anything whose text says "429" / "rate limit", 3 attempts with
60 s+ pauses, around the call. The core already retries rate limits `max_retries` times; two
layers would make 3 x 3 = 9 attempts. `OpenWebUIModel` therefore leaves smolagents' retryer only
the rate limits the core does not retry (`max_retries=0`): the matrix pins the default case
(`max_retries=2`: 3 attempts), these tests pin the hand-over.
"""

from __future__ import annotations

from typing import Any

import pytest
from server import CHAT, FaultServer, sample, status
from smolagents.models import RETRY_MAX_ATTEMPTS, ChatMessage, MessageRole

from openwebui_adapters import errors
from openwebui_adapters.smolagents import OpenWebUIModel

MESSAGES = [ChatMessage(role=MessageRole.USER, content="Say hello.")]


@pytest.fixture(autouse=True)
def _no_smolagents_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smolagents.models.RETRY_WAIT", 0)  # its own 60 s rate-limit pause


def model(server: FaultServer, *, max_retries: int, retry: bool) -> OpenWebUIModel:
    return OpenWebUIModel(
        "llama3:latest",
        api_base=server.url,
        api_key="sk-retry-layers-0123",
        timeout=2,
        max_retries=max_retries,
        retry=retry,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "generate_stream"])
def test_with_core_retries_off_smolagents_retries_rate_limits_itself(
    fault_server: FaultServer, backoff: Any, stream: bool
) -> None:
    """The core's RateLimitError is one smolagents recognises: its retryer takes over."""
    fault_server.route(CHAT, sample("err_upstream_429_chat"))
    chat = model(fault_server, max_retries=0, retry=True)

    def call() -> object:
        return list(chat.generate_stream(MESSAGES)) if stream else chat.generate(MESSAGES)

    with pytest.raises(errors.RateLimitError):
        call()
    assert fault_server.hits(CHAT) == RETRY_MAX_ATTEMPTS == 3
    assert backoff.calls == [], "the core did not retry: smolagents did"


def test_with_both_layers_off_a_rate_limit_is_one_attempt(
    fault_server: FaultServer, backoff: Any
) -> None:
    fault_server.route(CHAT, sample("err_upstream_429_chat"))
    with pytest.raises(errors.RateLimitError):
        model(fault_server, max_retries=0, retry=False).generate(MESSAGES)
    assert fault_server.hits(CHAT) == 1


def test_with_core_retries_on_smolagents_adds_none(fault_server: FaultServer, backoff: Any) -> None:
    fault_server.route(CHAT, sample("err_upstream_429_chat"))
    with pytest.raises(errors.RateLimitError):
        model(fault_server, max_retries=3, retry=True).generate(MESSAGES)
    assert fault_server.hits(CHAT) == 4
    assert [attempt for attempt, _, _ in backoff.calls] == [1, 2, 3]


def test_smolagents_never_retries_what_is_not_a_rate_limit(
    fault_server: FaultServer, backoff: Any
) -> None:
    """A 503 whose text (which smolagents' predicate matches) mentions a rate limit is the core's to retry (or not), never smolagents'."""
    fault_server.route(CHAT, status(503, {"detail": "upstream rate limit, 429"}))
    with pytest.raises(errors.ServerError):
        model(fault_server, max_retries=0, retry=True).generate(MESSAGES)
    assert fault_server.hits(CHAT) == 1
