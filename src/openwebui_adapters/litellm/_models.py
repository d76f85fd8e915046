"""The server's model facts in LiteLLM's model table, and the parameters `openwebui/` takes.

After `register_models()` every model the key may use is known to LiteLLM as `openwebui/<id>`
and under the other names a user writes for it (the display name, an Ollama id without
`:latest`; LiteLLM's lookup ignores case itself), so `litellm.supports_function_calling`,
`supports_vision`, `supports_response_schema`, `supports_reasoning`, `get_model_info` and the
cost functions answer from what the server says (`openwebui_adapters._model_facts`). Costs are
zero unless you pass prices in `overrides`. A capability nobody states is left out of the
entry, which LiteLLM answers as False: state it in `overrides` if you know better.

`register_models()` costs one `GET /api/models`, plus one `POST /ollama/api/show` per Ollama
model (`details=False` skips them: then an Ollama model's tools, vision and context length
stay unknown). For an OpenAI connection the well-known base ids (`gpt-4o-mini`...) take their
flags and token limits, never their prices, from LiteLLM's own table.

A model called without registration is registered after its first successful call, from the
facts the connection has cached (no request); the resolved id is registered with it, which is
what `litellm.completion_cost(response)` looks up.

"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

import litellm

from openwebui_adapters._client import OpenWebUIClient
from openwebui_adapters._model_facts import ModelFacts
from openwebui_adapters._settings import PROVIDER

from ._embedding_params import declare_embedding_params

__all__ = [
    "litellm_model_info",
    "model_names",
    "register_facts",
    "register_models",
    "remember_model",
]

logger = logging.getLogger(__name__)

# Zero prices, the cache ones too (LiteLLM warns about every entry priced without them).
_FREE: Final = {
    "input_cost_per_token": 0.0,
    "output_cost_per_token": 0.0,
    "cache_creation_input_token_cost": 0.0,
    "cache_read_input_token_cost": 0.0,
}
# Our capability -> LiteLLM's flag.
_FLAGS: Final = {
    "tools": "supports_function_calling",
    "vision": "supports_vision",
    "structured_output": "supports_response_schema",
    "thinking": "supports_reasoning",
}
# What LiteLLM's own table may add for a well-known base id: capabilities and limits only.
_TABLE_KEYS: Final = (
    "supports_function_calling",
    "supports_parallel_function_calling",
    "supports_tool_choice",
    "supports_vision",
    "supports_response_schema",
    "supports_reasoning",
    "max_input_tokens",
    "max_output_tokens",
)

_lock = threading.Lock()
_registered: set[str] = set()


def model_names(facts: ModelFacts) -> list[str]:
    """The names a user may write for the model, each once: id, display name, tagless id."""
    names = [facts.id, facts.name]
    if facts.backend == "ollama" and facts.id.endswith(":latest"):
        names.append(facts.id.removesuffix(":latest"))
    return list(dict.fromkeys(n for n in names if n))


def _table_entry(facts: ModelFacts) -> Mapping[str, Any]:
    """LiteLLM's own entry for an OpenAI connection's well-known id (or its base's), if any."""
    if facts.backend != "openai":
        return {}
    for key in (facts.id, facts.base_model_id):
        entry = litellm.model_cost.get(key) if key else None
        if isinstance(entry, Mapping) and entry.get("mode") in (None, "chat", "embedding"):
            return entry
    return {}


def litellm_model_info(facts: ModelFacts) -> dict[str, Any]:
    """LiteLLM's model table entry for these facts (stated capabilities only, zero prices)."""
    caps = facts.capabilities
    mode = "embedding" if caps.embedding and not caps.chat else "chat"
    table = _table_entry(facts)
    info: dict[str, Any] = {k: table[k] for k in _TABLE_KEYS if table.get(k) is not None}
    info.update({"litellm_provider": PROVIDER, "mode": mode, **_FREE})
    for ours, theirs in _FLAGS.items():
        value = getattr(caps, ours)
        if value is not None:
            info[theirs] = value
    if caps.tools is not None:
        info["supports_tool_choice"] = caps.tools
    if facts.context_length is not None:
        info["max_input_tokens"] = facts.context_length
    if facts.max_output_tokens is not None:
        info["max_output_tokens"] = facts.max_output_tokens
    # LiteLLM's legacy `max_tokens`: the output limit where known, else the context.
    limit = info.get("max_output_tokens") or info.get("max_input_tokens")
    if limit is not None:
        info["max_tokens"] = limit
    return info


_REGISTER_TAKES_PROVIDER: Final = (
    "custom_llm_provider" in inspect.signature(litellm.register_model).parameters
)


def _register(entries: Mapping[str, Mapping[str, Any]]) -> None:
    # Newer LiteLLM can scope the registration to the provider: an id that equals another
    # provider's table key then never merges into that entry.
    scope = {"custom_llm_provider": PROVIDER} if _REGISTER_TAKES_PROVIDER else {}
    litellm.register_model(dict(entries), **scope)
    with _lock:
        _registered.update(entries)


def register_facts(
    facts: Iterable[ModelFacts],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Register each model under `openwebui/<name>` for each of its names; return the entries.

    `overrides` maps a model's id or display name to LiteLLM entry keys that win over the
    server's facts (`supports_vision`, `max_input_tokens`, `input_cost_per_token`, ...).
    """
    overrides = overrides or {}
    entries: dict[str, dict[str, Any]] = {}
    for one in facts:
        info = litellm_model_info(one)
        for key in (one.id, one.name):
            info.update(overrides.get(key) or {})
        for name in model_names(one):
            entries[f"{PROVIDER}/{name}"] = info
    if entries:
        _register(entries)
    return entries


def register_models(
    api_base: str | None = None,
    api_key: str | None = None,
    *,
    details: bool = True,
    refresh: bool = False,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    client: OpenWebUIClient | None = None,
    **client_options: Any,
) -> dict[str, dict[str, Any]]:
    """Tell LiteLLM what the server says about every model the key may use.

    `api_base`/`api_key` default to `OPENWEBUI_SERVER_URL`/`OPENWEBUI_API_KEY`; other keyword
    arguments go to `OpenWebUIClient` (timeout, verify, headers...). Returns the registered
    entries by LiteLLM name. Raises the core's `OpenWebUIError` when the list cannot be had.
    """
    own = client is None
    client = client or OpenWebUIClient(api_base, api_key, **client_options)
    try:
        facts = client.all_model_facts(details=details, refresh=refresh)
    finally:
        if own:
            client.close()
    return register_facts(facts, overrides)


def remember_model(
    client: OpenWebUIClient, name: str, model_id: str | None, *, mode: str = "chat"
) -> None:
    """Register a model after its first successful call, from cached facts only (no request).

    `name` is what the user wrote (without `openwebui/`), `model_id` the id the server answered
    with. Known names return at once; a failure here never fails the call.
    """
    wanted = {f"{PROVIDER}/{n}" for n in (name, model_id) if n}
    with _lock:
        if wanted <= _registered:
            return
    try:
        facts = client.cached_model_facts(model_id or name) or ModelFacts(
            id=model_id or name, name=name, backend="unknown"
        )
        if mode == "embedding" and facts.capabilities.embedding is None:
            # The call just proved it; LiteLLM's `mode` then says embedding.
            facts = replace(facts, capabilities=replace(facts.capabilities, embedding=True))
        info = litellm_model_info(facts)
        _register({**{key: info for key in wanted}, **register_facts([facts])})
    except Exception:  # bookkeeping after a good answer must not turn it into a failure
        logger.debug("could not register %r with LiteLLM", name, exc_info=True)


declare_embedding_params()  # the parameters `openwebui/` takes are known before the first call
