"""The server's model facts in LiteLLM at its first lookup of an `openwebui/` model.

Agent frameworks ask LiteLLM about a model when they build an agent, before any call
(`supports_function_calling`, `supports_response_schema`, `get_model_info`): CrewAI, LlamaIndex,
Google ADK and DSPy choose native tool calling or a JSON schema from the answer. For a provider
in `litellm.custom_provider_map` LiteLLM answers from its table `litellm.model_cost` only (the
model-info class it asks with `api_base` is for its built-in providers), and every such lookup,
1.101 to 1.110 alike, starts with `"openwebui/<name>" in litellm.model_cost`. So `install()`
puts a `dict` subclass with the same entries in the table's place, whose `in` answers a missing
`openwebui/<name>` after learning that model's facts from the server. (Newer LiteLLM puts a plain
table in its place when it reloads its price list; the next call through the provider puts
this one back.)

Learning asks the server in `OPENWEBUI_SERVER_URL`/`OPENWEBUI_API_KEY` for its model list at most
once per server and key in the process (not at all when calls already cached it), plus one
`/ollama/api/show` per Ollama model asked about, and registers the model as `register_models()`
does. A lookup waits for that at most `wait` seconds in all (3 by default, `lookup_facts(wait=...)`;
LiteLLM's lookups are synchronous, so on an event loop the loop waits too); lookups at the same
time share the requests, and an answer that comes after the wait still registers. LiteLLM looks
a model up inside `completion()` too, so the first call of a model nothing asked about before
makes these requests first. When the server cannot be reached, or has no such model, the facts
stay unknown (LiteLLM answers False; `get_model_info` raises) and are not asked for again: the
first successful call registers them, as before. Nothing is asked at import, and nothing without
both environment variables: a framework's `api_base` never reaches LiteLLM's table lookup, so
with a server given only that way call `register_models(api_base, api_key)`. Users turn it off
or change the wait with `openwebui_adapters.litellm.lookup_facts`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import litellm

from openwebui_adapters._catalog import resolve
from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._model_facts import ModelFacts
from openwebui_adapters._settings import PROVIDER
from openwebui_adapters.errors import API_KEY, SERVER_URL

from ._models import register_facts

__all__ = ["DEFAULT_WAIT", "ClientFactory", "install", "installed", "keep_installed", "uninstall"]

DEFAULT_WAIT: Final = 3.0
"""Seconds a lookup waits at most for the server's answer."""

ClientFactory = Callable[[], OpenWebUIClient]
"""Builds the client a call would use for the server in the environment."""

_PREFIX: Final = f"{PROVIDER}/"

logger = logging.getLogger(__name__)


class _Learner:
    """What was asked of which server, so that each model and each list is asked for once."""

    def __init__(self, client_factory: ClientFactory, wait: float) -> None:
        self.client_factory = client_factory
        self.wait = wait
        self._lock = threading.Lock()
        # (server URL, key, name) as the environment had them -> (done, when waiting ends)
        self._asked: dict[tuple[str, str, str], tuple[threading.Event, float]] = {}
        self._listed: set[tuple[object, ...]] = set()  # servers (pool keys) whose list we asked for
        self._server_locks: dict[tuple[object, ...], threading.Lock] = {}
        self._local = threading.local()

    def learn(self, name: str) -> None:
        """Register `openwebui/<name>` from the server's facts, waiting `wait` seconds at most."""
        if getattr(self._local, "registering", False):
            return  # LiteLLM looking the model up while we register it
        url, key = os.environ.get(SERVER_URL, "").strip(), os.environ.get(API_KEY, "").strip()
        if not (url and key):
            return
        token = (url, key, name)
        with self._lock:
            asked = self._asked.get(token)
            if asked is None:
                asked = self._asked[token] = (threading.Event(), time.monotonic() + self.wait)
                # Its own thread, so that the wait is bounded whatever the requests take; an
                # answer after the wait still registers, for later lookups.
                threading.Thread(
                    target=self._learn, args=(name, asked[0]), name="openwebui-facts", daemon=True
                ).start()
        done, until = asked
        done.wait(max(0.0, until - time.monotonic()))

    def _learn(self, name: str, done: threading.Event) -> None:
        self._local.registering = True
        try:
            facts = self._facts(self.client_factory(), name)
            if facts is not None:
                register_facts([facts])
        except Exception:  # unknown stays unknown; the first successful call registers
            logger.debug("no model facts for %r from the server", name, exc_info=True)
        finally:
            done.set()

    def _facts(self, client: OpenWebUIClient, name: str) -> ModelFacts | None:
        server = client.settings.pool_key
        with self._lock:
            server_lock = self._server_locks.setdefault(server, threading.Lock())
        with server_lock:  # one server's models one at a time: no list or show asked twice
            models = client.catalog.models
            if models is None:
                if server in self._listed:
                    return None  # asked once already, and got no list
                self._listed.add(server)
                models = client.list_models()
            if resolve(name, models) is None:
                return None
            return client.model_facts(name)  # the name resolves in the cached list: no list


_learner: _Learner | None = None


class _TableWithFacts(dict[str, Any]):
    """LiteLLM's model table, whose `in` learns a missing `openwebui/` model before answering."""

    __slots__ = ()

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):  # LiteLLM's hot path: no more than that when known
            return True
        learner = _learner
        if learner is None or not isinstance(key, str) or not key.startswith(_PREFIX):
            return False
        learner.learn(key[len(_PREFIX) :])
        return dict.__contains__(self, key)


def install(client_factory: ClientFactory, *, wait: float = DEFAULT_WAIT) -> None:
    """Learn missing `openwebui/` models at LiteLLM's lookups from now on; sends nothing now.

    `import openwebui_adapters.litellm` calls it with the provider's own client factory, and
    `lookup_facts(wait=...)` again with a new wait: what was asked before is forgotten.
    """
    global _learner
    if not wait > 0:
        raise ValueError(f"wait must be a positive number of seconds, not {wait!r}")
    _learner = _Learner(client_factory, wait)
    keep_installed()


def keep_installed() -> None:
    """Put the learning table back where something replaced `litellm.model_cost` with a plain one
    (newer LiteLLM does when its price list is reloaded); the provider calls it on every call."""
    if _learner is not None and type(litellm.model_cost) is not _TableWithFacts:
        litellm.model_cost = _TableWithFacts(litellm.model_cost)


def uninstall() -> None:
    """Back to LiteLLM's plain table: facts are known after `register_models()` or a first call."""
    global _learner
    _learner = None
    if type(litellm.model_cost) is _TableWithFacts:
        litellm.model_cost = dict(litellm.model_cost)


def installed() -> bool:
    """Whether lookups learn missing models (False after `uninstall()`, and from a reload of
    LiteLLM's price list until the next call through the provider)."""
    return _learner is not None and type(litellm.model_cost) is _TableWithFacts
