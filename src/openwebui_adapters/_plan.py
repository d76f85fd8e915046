"""Exchanges written once: a plan is a generator that yields what to do and gets the result back.

A plan holds every decision (what to send, whether to retry and after how long, what an answer
means, where a stream's chunks go) and does no I/O itself: it yields effects (`Send`, `Open`,
`Read`, `Sleep`...) and receives what they produced, or the transport's exception thrown in at
the `yield`. Two drivers perform effects: `run`/`iterate` with an `httpx.Client`, `arun`/`aiterate`
with an `httpx.AsyncClient`. So the logic exists once and the drivers only send, read and sleep,
as httpx's `BaseClient` holds the decisions and `Client`/`AsyncClient` only the loops.

A streaming plan yields `Emit(items)` for the items its caller receives; when the caller stops
early, the driver closes the plan and every response it had opened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import httpx

__all__ = [
    "Blocking",
    "Close",
    "Effect",
    "Emit",
    "Open",
    "Outgoing",
    "Plan",
    "Read",
    "ReadAll",
    "Send",
    "Sleep",
    "aiterate",
    "arun",
    "iterate",
    "run",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """One request, as a plan decided it (the pool's own headers are added by the client)."""

    method: str
    url: str
    headers: Mapping[str, str]
    timeout: httpx.Timeout | float
    params: Mapping[str, str] | None = None
    content: bytes | None = None
    json: Any = None
    files: Mapping[str, Any] | None = None

    def build(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        return client.build_request(
            self.method,
            self.url,
            params=self.params,
            content=self.content,
            json=self.json,
            files=self.files,
            headers=self.headers,
            timeout=self.timeout,
        )


@dataclass(slots=True)
class Send:
    """Send a request and read its whole answer -> `httpx.Response`."""

    request: Outgoing


@dataclass(slots=True)
class Open:
    """Send a request, leaving its body to `Read` -> `httpx.Response` (body not read)."""

    request: Outgoing


@dataclass(slots=True)
class Read:
    """The next text of an opened answer -> `str`, or None once the body has ended."""

    response: httpx.Response


@dataclass(slots=True)
class ReadAll:
    """Read an opened answer's whole body (and let its connection go) -> None."""

    response: httpx.Response


@dataclass(slots=True)
class Close:
    """Let an opened answer go without reading the rest -> None."""

    response: httpx.Response


@dataclass(slots=True)
class Sleep:
    """Wait -> None."""

    seconds: float


@dataclass(slots=True)
class Blocking:
    """Call a blocking function (a file read): in a worker thread for the async driver."""

    call: Callable[[], Any]


@dataclass(slots=True)
class Emit:
    """A streaming plan's next items for its caller (one effect for all a read brought) -> None."""

    items: Iterable[Any]


Effect: TypeAlias = Send | Open | Read | ReadAll | Close | Sleep | Blocking | Emit
Plan: TypeAlias = Generator[Effect, Any, T]


@dataclass(slots=True)
class _Returned:
    """The async driver's last step: what the plan returned."""

    value: Any


def _drive(plan: Plan[T], client: httpx.Client) -> Generator[Any, None, T]:
    opened: dict[httpx.Response, Iterator[str]] = {}
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = plan.send(value) if error is None else plan.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value = error = None
            if type(effect) is Emit:
                yield from effect.items
                continue
            try:
                value = _perform(effect, client, opened)
            except httpx.RequestError as exc:
                error = exc
    finally:
        plan.close()
        for response in opened:
            response.close()


def _perform(
    effect: Effect, client: httpx.Client, opened: dict[httpx.Response, Iterator[str]]
) -> Any:
    if type(effect) is Read:  # a stream's hot path first
        return next(opened[effect.response], None)
    if isinstance(effect, Send):
        return client.send(effect.request.build(client))
    if isinstance(effect, Open):
        response = client.send(effect.request.build(client), stream=True)
        opened[response] = response.iter_text()
        return response
    if isinstance(effect, ReadAll):
        opened.pop(effect.response, None)
        effect.response.read()
        return None
    if isinstance(effect, Close):
        opened.pop(effect.response, None)
        return effect.response.close()
    if isinstance(effect, Sleep):
        return time.sleep(effect.seconds)
    if isinstance(effect, Blocking):
        return effect.call()
    raise TypeError(f"not an effect: {effect!r}")


async def _adrive(plan: Plan[Any], client: httpx.AsyncClient) -> AsyncGenerator[Any, None]:
    """What `plan` emits, then (once it has ended and its answers are closed) its last step,
    `_Returned(what it returned)`: an async generator cannot return a value."""
    opened: dict[httpx.Response, AsyncIterator[str]] = {}
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = plan.send(value) if error is None else plan.throw(error)
            except StopIteration as stop:
                returned = _Returned(stop.value)
                break
            value = error = None
            if type(effect) is Emit:
                for item in effect.items:
                    yield item
                continue
            try:
                value = await _aperform(effect, client, opened)
            except httpx.RequestError as exc:
                error = exc
    finally:
        plan.close()
        for response in opened:
            await response.aclose()
    yield returned


async def _aperform(
    effect: Effect, client: httpx.AsyncClient, opened: dict[httpx.Response, AsyncIterator[str]]
) -> Any:
    if type(effect) is Read:  # a stream's hot path first
        return await anext(opened[effect.response], None)
    if isinstance(effect, Send):
        return await client.send(effect.request.build(client))
    if isinstance(effect, Open):
        response = await client.send(effect.request.build(client), stream=True)
        opened[response] = response.aiter_text()
        return response
    if isinstance(effect, ReadAll):
        opened.pop(effect.response, None)
        await effect.response.aread()
        return None
    if isinstance(effect, Close):
        opened.pop(effect.response, None)
        return await effect.response.aclose()
    if isinstance(effect, Sleep):
        return await asyncio.sleep(effect.seconds)
    if isinstance(effect, Blocking):
        return await asyncio.to_thread(effect.call)
    raise TypeError(f"not an effect: {effect!r}")


def run(plan: Plan[T], client: httpx.Client) -> T:
    """Perform a plan with a sync client; what it returns."""
    steps = _drive(plan, client)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            result: T = stop.value
            return result


def iterate(plan: Plan[Any], client: httpx.Client) -> Generator[Any, None, None]:
    """Perform a streaming plan with a sync client; the items it emits."""
    yield from _drive(plan, client)


async def arun(plan: Plan[T], client: httpx.AsyncClient) -> T:
    """Perform a plan with an async client; what it returns."""
    last: Any = None
    async for step in _adrive(plan, client):
        last = step  # what the plan emits is dropped, as `run` drops it
    result: T = last.value  # the last step is _Returned
    return result


async def aiterate(plan: Plan[Any], client: httpx.AsyncClient) -> AsyncGenerator[Any, None]:
    """Perform a streaming plan with an async client; the items it emits."""
    async with aclosing(_adrive(plan, client)) as steps:
        async for step in steps:
            if isinstance(step, _Returned):
                return
            yield step
