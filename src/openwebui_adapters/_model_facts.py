"""What the server knows about each model: capabilities, context length, backend, base model.

Facts come from two answers, both cached with the model list (`Catalog`):
- `GET /api/models` (fetched anyway to resolve names): the backend (`owned_by`), a workspace
  model's base (`info.base_model_id`), the settings the admin gave it (`info.meta.capabilities`:
  vision, file_upload, web_search, citations...; `info.params.function_calling`, which 0.12
  no longer lists), an Ollama model's details (family, parameter size, quantisation), and what
  an OpenAI-compatible upstream says in its own entry (OpenRouter-style `context_length`,
  `architecture.input_modalities`, `supported_parameters`; vLLM's `max_model_len`).
- `POST /ollama/api/show` for an Ollama model, asked only for the facts (never on a chat's
  path): its `capabilities` (completion, tools, vision, thinking, embedding) and its context
  length in `model_info["<arch>.context_length"]`.

Precedence: what the user overrides (`with_overrides`); then what the backend says of the model
or, for a workspace model, of its base (Ollama's list is complete: a missing ability is False),
then the upstream's own entry; last the admin's settings on the server, the model's own before
its base's (the web UI sets them all to true by default, so they only fill in what the backend
leaves unsaid). `None` means nobody said, which is not the same as False.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ._catalog import Catalog, ModelInfo, resolve
from ._plan import Plan
from ._shapes import integer, mapping, text
from .errors import OpenWebUIError

if TYPE_CHECKING:
    from ._models import Models
    from ._sending import Sender

__all__ = [
    "SHOW_PATH",
    "Capabilities",
    "Facts",
    "ModelFacts",
    "details_id",
    "facts_for",
    "with_overrides",
]

SHOW_PATH = "/ollama/api/show"
_SHOW_TIMEOUT = 30.0  # at most; a shorter client timeout wins

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capabilities:
    """What a model can do and which of Open WebUI's features it has; None: nobody said."""

    # What the model itself can do.
    chat: bool | None = None  # Ollama's "completion"
    tools: bool | None = None  # OpenAI `tools` answered with tool calls
    vision: bool | None = None  # images in messages
    structured_output: bool | None = None  # `response_format` with a JSON schema
    thinking: bool | None = None  # reasoning output
    embedding: bool | None = None
    # Features the admin turned on or off for the model (`info.meta.capabilities`).
    file_upload: bool | None = None
    web_search: bool | None = None
    image_generation: bool | None = None
    code_interpreter: bool | None = None
    citations: bool | None = None
    usage: bool | None = None

    def known(self) -> dict[str, bool]:
        """The capabilities someone stated, true or false."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    def fill(self, fallback: Capabilities) -> Capabilities:
        """These, with what they leave unknown taken from `fallback`."""
        unknown = {n: v for n, v in fallback.known().items() if getattr(self, n) is None}
        return replace(self, **unknown)


CAPABILITY_NAMES = tuple(f.name for f in fields(Capabilities))


@dataclass(frozen=True)
class ModelFacts:
    """Everything the server says about one model, as one typed record."""

    id: str
    name: str
    backend: str  # ollama, openai, pipe, arena or the server's `owned_by`
    capabilities: Capabilities = field(default_factory=Capabilities)
    context_length: int | None = None  # tokens the model reads at most, when known
    max_output_tokens: int | None = None
    owned_by: str | None = None
    base_model_id: str | None = None  # a workspace model's base
    function_calling: str | None = None  # `info.params.function_calling`: native or default
    family: str | None = None  # Ollama's details
    parameter_size: str | None = None
    quantization: str | None = None
    description: str | None = None
    # Where the facts came from, in order: "api/models", "ollama/api/show", "base:<id>", ...
    sources: tuple[str, ...] = ()
    # The admin's settings as the server lists them, unknown keys included.
    server_capabilities: Mapping[str, bool] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`openwebui-adapters models --json`)."""
        data = asdict(self)
        data["capabilities"] = self.capabilities.known()
        data["server_capabilities"] = dict(self.server_capabilities)
        data["sources"] = list(self.sources)
        return data


def with_overrides(facts: ModelFacts, overrides: Mapping[str, Any]) -> ModelFacts:
    """The facts with what the user says instead: capability names and record fields."""
    unknown = set(overrides) - set(CAPABILITY_NAMES) - {f.name for f in fields(ModelFacts)}
    if unknown:
        raise ValueError(f"unknown model facts {sorted(unknown)}; known: {CAPABILITY_NAMES}")
    caps = {k: v for k, v in overrides.items() if k in CAPABILITY_NAMES}
    record = {k: v for k, v in overrides.items() if k not in CAPABILITY_NAMES}
    capabilities = replace(facts.capabilities, **caps)
    return replace(
        facts,
        **record,
        capabilities=capabilities,
        sources=(*facts.sources, "override"),
    )


# -- reading the answers ----------------------------------------------------------------------


def _count(value: Any) -> int | None:
    """A positive token count."""
    found = integer(value)
    return found if found is not None and found > 0 else None


def _info(model: ModelInfo) -> Mapping[str, Any]:
    return mapping(model.raw.get("info"))


def _base_id(model: ModelInfo) -> str | None:
    return text(_info(model).get("base_model_id"))


def _server_settings(model: ModelInfo) -> tuple[Capabilities, dict[str, bool]]:
    """The admin's settings (`info.meta.capabilities`, `info.params`) as capabilities."""
    info = _info(model)
    stated = mapping(mapping(info.get("meta")).get("capabilities"))
    flags = {k: v for k, v in stated.items() if isinstance(k, str) and isinstance(v, bool)}
    known = {k: v for k, v in flags.items() if k in CAPABILITY_NAMES}
    if mapping(info.get("params")).get("function_calling") == "native":
        known.setdefault("tools", True)  # the admin says the model calls tools natively
    return Capabilities(**known), flags


def _upstream_entry(model: ModelInfo) -> tuple[Capabilities, int | None, int | None]:
    """What an OpenAI-compatible upstream says in its own `/models` entry, if anything."""
    entry = mapping(model.raw.get("openai"))
    params = entry.get("supported_parameters")
    said: dict[str, bool] = {}
    if isinstance(params, list):
        said["tools"] = "tools" in params
        said["structured_output"] = "structured_outputs" in params or "response_format" in params
        said["thinking"] = "reasoning" in params or "include_reasoning" in params
    modalities = mapping(entry.get("architecture")).get("input_modalities")
    if isinstance(modalities, list):
        said["vision"] = "image" in modalities
    top = mapping(entry.get("top_provider"))
    context = next(
        (
            n
            for n in map(
                _count,
                (
                    entry.get("context_length"),
                    entry.get("max_model_len"),
                    entry.get("context_window"),
                    top.get("context_length"),
                ),
            )
            if n
        ),
        None,
    )
    return Capabilities(**said), context, _count(top.get("max_completion_tokens"))


_SHOW_ABILITIES = {
    "completion": "chat",
    "tools": "tools",
    "vision": "vision",
    "thinking": "thinking",
    "embedding": "embedding",
}


def _show(details: Mapping[str, Any]) -> tuple[Capabilities, int | None]:
    """Ollama's `/api/show`: its capability list (complete: missing means no) and context."""
    said: dict[str, bool] = {}
    listed = details.get("capabilities")
    if isinstance(listed, list):
        said = {ours: theirs in listed for theirs, ours in _SHOW_ABILITIES.items()}
        # Open WebUI turns `response_format` into Ollama's `format`, which every chat model takes.
        said["structured_output"] = said["chat"]
    info = mapping(details.get("model_info"))
    arch = text(info.get("general.architecture"))
    context = _count(info.get(f"{arch}.context_length")) if arch else None
    return Capabilities(**said), context


def details_id(model_id: str, models: Sequence[ModelInfo]) -> str | None:
    """The Ollama model whose `/api/show` describes `model_id` (itself, or a workspace model's
    base), or None when no Ollama model is behind it."""
    for model in _chain(model_id, models):
        if model.backend == "ollama" and ("ollama" in model.raw or _base_id(model) is None):
            return model.id
    return None


def _chain(model_id: str, models: Sequence[ModelInfo]) -> list[ModelInfo]:
    """The model, its base, its base's base... (each once)."""
    by_id = {m.id: m for m in models}
    chain: list[ModelInfo] = []
    current = by_id.get(model_id)
    while current is not None and current not in chain:
        chain.append(current)
        base = _base_id(current)
        current = by_id.get(base) if base else None
    return chain


def facts_for(
    model_id: str,
    models: Sequence[ModelInfo],
    details: Mapping[str, Mapping[str, Any]] | None = None,
) -> ModelFacts:
    """The facts for `model_id` (an id of `models`), from the list and the backends' answers.

    `details` maps an Ollama model's id to its `/api/show` answer. No request is made here.
    """
    chain = _chain(model_id, models)
    if not chain:
        raise KeyError(model_id)
    model = chain[0]
    backend_said = Capabilities()
    server_said = Capabilities()
    context: int | None = None
    max_output: int | None = None
    ollama: Mapping[str, Any] = {}
    sources = ["api/models"]
    for position, link in enumerate(chain):
        if position:
            sources.append(f"base:{link.id}")
        shown = (details or {}).get(link.id)
        if shown:
            caps, shown_context = _show(shown)
            backend_said, context = backend_said.fill(caps), context or shown_context
            sources.append(f"ollama/api/show:{link.id}" if position else "ollama/api/show")
        upstream, upstream_context, upstream_output = _upstream_entry(link)
        backend_said = backend_said.fill(upstream)
        context, max_output = context or upstream_context, max_output or upstream_output
        server_said = server_said.fill(_server_settings(link)[0])
        ollama = ollama or mapping(link.raw.get("ollama"))
    details_of = mapping(ollama.get("details"))
    info = _info(model)
    owned_by = text(model.raw.get("owned_by"))
    return ModelFacts(
        id=model.id,
        name=model.name,
        backend=model.backend,
        capabilities=backend_said.fill(server_said),
        context_length=context,
        max_output_tokens=max_output,
        owned_by=owned_by,
        base_model_id=_base_id(model),
        function_calling=text(mapping(info.get("params")).get("function_calling")),
        family=text(details_of.get("family")),
        parameter_size=text(details_of.get("parameter_size")),
        quantization=text(details_of.get("quantization_level")),
        description=text(mapping(info.get("meta")).get("description")),
        sources=tuple(sources),
        server_capabilities=_server_settings(model)[1],
    )


# -- the client's methods ---------------------------------------------------------------------


def _details_map(catalog: Catalog, models: Iterable[ModelInfo]) -> dict[str, Mapping[str, Any]]:
    found = {m.id: catalog.details(m.id) for m in models}
    return {k: v for k, v in found.items() if v is not None}


class Facts:
    """One client's model facts: at most the list and one `/api/show` per Ollama model, both
    cached per connection; a chat never waits for them."""

    def __init__(self, sender: Sender, models: Models, read_timeout: float) -> None:
        self.sender = sender
        self.models = models
        self.catalog = models.catalog
        self.show_timeout = min(read_timeout, _SHOW_TIMEOUT)

    def cached(self, name: str) -> ModelFacts | None:
        """The facts as far as they are cached; None when the list was never fetched or the name
        does not resolve in it. Never makes a request (for constructors and hot paths)."""
        models = self.catalog.models
        if models is None:
            return None
        model_id = self.catalog.alias(name) or resolve(name, models)
        if model_id is None:
            return None
        return facts_for(model_id, models, _details_map(self.catalog, models))

    def of(self, name: str, *, details: bool = True) -> Plan[ModelFacts]:
        """The facts for a model as the user writes it (ModelNotFoundError if none).

        Costs the model list when it is not cached, and with `details` one `/api/show` the
        first time an Ollama model is asked about."""
        model_id = yield from self.models.resolve(name)
        models = self.catalog.models or []
        wanted = details_id(model_id, models) if details else None
        if wanted is not None and self.catalog.details(wanted) is None:
            yield from self._show(wanted)
        return facts_for(model_id, models, _details_map(self.catalog, models))

    def every(self, *, details: bool = False, refresh: bool = False) -> Plan[list[ModelFacts]]:
        """Facts for every model the key may use: one request for the list (none when cached),
        plus with `details` one `/api/show` per Ollama model not asked about before."""
        models = self.catalog.models
        if models is None or refresh:
            models = yield from self.models.fetch(refresh=refresh)
        if details:
            wanted = (details_id(m.id, models) for m in models)
            for model_id in dict.fromkeys(i for i in wanted if i):
                if self.catalog.details(model_id) is None:
                    yield from self._show(model_id)
        known = _details_map(self.catalog, models)
        return [facts_for(m.id, models, known) for m in models]

    def _show(self, model_id: str) -> Plan[None]:
        """Ask Ollama about a model once; remember `{}` when the server answered without it (an
        old release, API keys kept out of `/ollama`, Ollama off), nothing to ask again later."""
        try:
            answer = yield from self.sender.json(
                "POST", SHOW_PATH, {"model": model_id}, timeout=self.show_timeout
            )
        except OpenWebUIError as error:
            logger.debug("no details for %r from %s: %s", model_id, SHOW_PATH, error)
            if error.status_code is not None:
                self.catalog.store_details(model_id, {})
            return
        self.catalog.store_details(model_id, mapping(answer))
