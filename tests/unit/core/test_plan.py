"""The two drivers of a plan: what they return, and what they refuse."""

from __future__ import annotations

import httpx
import pytest

from openwebui_adapters._plan import Emit, Plan, arun, run


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, got {request.url}")


def _clients() -> tuple[httpx.Client, httpx.AsyncClient]:
    transport = httpx.MockTransport(_unused)
    return httpx.Client(transport=transport), httpx.AsyncClient(transport=transport)


async def test_a_plan_that_yields_what_is_not_an_effect_fails_loudly_in_both_drivers() -> None:
    def plan() -> Plan[None]:
        yield "send this"  # type: ignore[misc]  # the mistake under test

    client, aclient = _clients()
    with pytest.raises(TypeError, match="not an effect: 'send this'"):
        run(plan(), client)
    with pytest.raises(TypeError, match="not an effect: 'send this'"):
        await arun(plan(), aclient)


async def test_both_drivers_return_what_the_plan_returns_past_what_it_emits() -> None:
    def plan() -> Plan[str]:
        yield Emit("a chunk")
        return "the answer"

    client, aclient = _clients()
    assert run(plan(), client) == "the answer"
    assert await arun(plan(), aclient) == "the answer"
