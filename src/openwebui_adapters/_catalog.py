"""The server's model list, and resolving a name as a person writes it to the server's id."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LEFTOVER_PREFIXES",
    "Catalog",
    "ModelInfo",
    "backend_of",
    "parse_models",
    "resolve",
    "strip_leftover_prefix",
    "suggest",
]

# Provider prefixes left over from other libraries' conventions (LiteLLM's, the seeds' trick).
LEFTOVER_PREFIXES = (
    "openwebui/",
    "ollama_chat/",
    "ollama/",
    "openai/",
    "featherless_ai/",
    "hosted_vllm/",
    "litellm_proxy/",
)


@dataclass(frozen=True)
class ModelInfo:
    """One entry of `GET /api/models`: the id to send, the name the web UI shows, its backend."""

    id: str
    name: str
    backend: str
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)


def backend_of(entry: Mapping[str, Any]) -> str:
    """Which of Open WebUI's routes serves this model: ollama, openai, pipe, arena or unknown."""
    if entry.get("arena"):
        return "arena"
    if "pipe" in entry:
        return "pipe"
    if "ollama" in entry or entry.get("owned_by") == "ollama":
        return "ollama"
    if "openai" in entry or entry.get("owned_by") == "openai":
        return "openai"
    owner = entry.get("owned_by")
    return owner if isinstance(owner, str) and owner else "unknown"


def parse_models(payload: Any) -> list[ModelInfo]:
    """ModelInfo for each entry of a `/api/models` answer (`{"data": [...]}` or a bare list)."""
    entries = payload.get("data", []) if isinstance(payload, Mapping) else payload
    models: list[ModelInfo] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
            name = entry.get("name")
            models.append(
                ModelInfo(
                    id=entry["id"],
                    name=name if isinstance(name, str) and name else entry["id"],
                    backend=backend_of(entry),
                    raw=entry,
                )
            )
    return models


def _unique(matches: Iterable[str]) -> str | None:
    found = list(dict.fromkeys(matches))
    return found[0] if len(found) == 1 else None


def _match(name: str, models: Sequence[ModelInfo]) -> str | None:
    if any(m.id == name for m in models):
        return name
    exact_name = _unique(m.id for m in models if m.name == name)
    if exact_name:
        return exact_name
    folded = name.casefold()
    picks: tuple[Callable[[ModelInfo], bool], ...] = (
        lambda m: m.id.casefold() == folded,
        lambda m: m.name.casefold() == folded,
        lambda m: (
            m.backend == "ollama" and ":" not in name and m.id.casefold() == f"{folded}:latest"
        ),
    )
    for pick in picks:
        matched = _unique(m.id for m in models if pick(m))
        if matched:
            return matched
    return None


def resolve(name: str, models: Sequence[ModelInfo]) -> str | None:
    """The server id meant by `name`, or None.

    Tried in order: the exact id, the display name, a case difference, an Ollama id without its
    tag (`llama3` -> `llama3:latest`), and the same after removing a leftover provider prefix
    (`ollama/llama3`). Ids that really contain `/` match first, so they stay as they are.
    """
    name = name.strip()
    matched = _match(name, models)
    if matched:
        return matched
    lowered = name.lower()
    for prefix in LEFTOVER_PREFIXES:
        if lowered.startswith(prefix):
            return resolve(name[len(prefix) :], models)
    return None


def strip_leftover_prefix(name: str) -> str:
    """`ollama/llama3` -> `llama3`: what to try first when the list is not known yet."""
    lowered = name.lower()
    for prefix in LEFTOVER_PREFIXES:
        if lowered.startswith(prefix):
            return strip_leftover_prefix(name[len(prefix) :])
    return name


def suggest(name: str, models: Sequence[ModelInfo], limit: int = 5) -> list[str]:
    """The ids closest to `name` (by id and by display name), best first."""
    if not models:
        return []
    wanted = strip_leftover_prefix(name.strip()).casefold()
    by_key: dict[str, list[str]] = {}
    for model in models:
        for key in (model.id, model.name, model.id.split(":", 1)[0]):
            ids = by_key.setdefault(key.casefold(), [])
            if model.id not in ids:
                ids.append(model.id)
    close = difflib.get_close_matches(wanted, list(by_key), n=limit * 2, cutoff=0.5)
    contains = [key for key in by_key if wanted and (wanted in key or key in wanted)]
    ranked = [model_id for key in [*close, *contains] for model_id in by_key[key]]
    return list(dict.fromkeys(ranked))[:limit]


class Catalog:
    """The model list of one server and key, cached, plus what each name resolved to.

    Thread-safe; fetching is done by the client, which stores the result here.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: list[ModelInfo] | None = None
        self._aliases: dict[str, str] = {}
        self._details: dict[str, Mapping[str, Any]] = {}

    @property
    def models(self) -> list[ModelInfo] | None:
        """The cached list, or None when it was never fetched."""
        return self._models

    def store(self, models: list[ModelInfo]) -> None:
        with self._lock:
            self._models = models
            # A refreshed list may drop a model: forget what resolved to it.
            ids = {m.id for m in models}
            self._aliases = {k: v for k, v in self._aliases.items() if v in ids}
            self._details = {k: v for k, v in self._details.items() if k in ids}

    def alias(self, name: str) -> str | None:
        """The id this name resolved to before, if any."""
        return self._aliases.get(name)

    def remember(self, name: str, model_id: str) -> None:
        if name != model_id:
            with self._lock:
                self._aliases[name] = model_id

    def forget(self, name: str) -> None:
        with self._lock:
            self._aliases.pop(name, None)

    def details(self, model_id: str) -> Mapping[str, Any] | None:
        """The backend's own answer about a model (Ollama's `/api/show`), or None if never asked."""
        return self._details.get(model_id)

    def store_details(self, model_id: str, details: Mapping[str, Any]) -> None:
        """Keep a backend's answer about a model (`{}`: asked, nothing known) with the list."""
        with self._lock:
            self._details[model_id] = details
