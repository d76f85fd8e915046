"""The model list and which id to send for a name, as plans.

The happy path costs one request: the name is sent as given (or as it resolved before). Only on
"Model not found" is the model list fetched, the name resolved, and the call sent once more; if
the server's own list turns out stale, it is asked to refresh once. A key the admin restricted to
some endpoints may be refused the list while the chat works: then the error says so, and that
names must be exact ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._catalog import Catalog, ModelInfo, parse_models, resolve, suggest
from ._plan import Plan
from ._sending import Sender
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ModelNotFoundError,
    OpenWebUIError,
    PermissionDeniedError,
    ServerError,
)

__all__ = [
    "MODELS_PATH",
    "MODELS_TIMEOUT",
    "Models",
    "check_model_name",
    "is_missing_embedding_model",
    "is_missing_model",
]

T = TypeVar("T")

MODELS_PATH = "/api/models"
MODELS_TIMEOUT = 60.0


def check_model_name(name: Any, names: Mapping[str, str] | None = None) -> str:
    """The model name, or a ConfigurationError naming the setting."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(
            f"No model was given (got {name!r})",
            setting="model",
            hint="pass the model as the server lists it, e.g. 'llama3:latest' "
            "(`openwebui-adapters models` lists them)",
            names=names,
        )
    return name.strip()


def is_missing_model(error: OpenWebUIError) -> bool:
    return isinstance(error, ModelNotFoundError)


def is_missing_embedding_model(error: OpenWebUIError) -> bool:
    # Open WebUI answers an unknown embeddings model with a bare 500.
    return isinstance(error, ModelNotFoundError) or (
        isinstance(error, ServerError) and error.status_code == 500
    )


def _final_model_error(
    name: str, models: list[ModelInfo], error: OpenWebUIError, names: Mapping[str, str]
) -> OpenWebUIError:
    """The error to raise once resolving gave up: the model error with suggestions, or the original."""
    if not isinstance(error, ModelNotFoundError) and resolve(name, models) is not None:
        return error  # the model exists: the failure was something else
    if not models:
        return ModelNotFoundError(
            f"Open WebUI has no model {name!r}: this key's user sees no models at all",
            model=name,
            status_code=error.status_code,
            url=error.url,
            body=error.body,
            hint="ask the Open WebUI admin to grant this user access to models "
            "(a new user sees none until granted)",
            names=names,
        )
    return ModelNotFoundError(
        f"Open WebUI has no model {name!r}",
        model=name,
        suggestions=suggest(name, models),
        status_code=error.status_code,
        url=error.url,
        body=error.body,
        names=names,
    )


def _list_refused(
    name: str, error: OpenWebUIError, refused: OpenWebUIError, names: Mapping[str, str]
) -> ModelNotFoundError:
    """The call missed the model as written, and the key may not read the model list that
    would have matched it: say which route was refused and what that costs."""
    return ModelNotFoundError(
        f"Open WebUI has no model {name!r} as written, and this key may not read the model list "
        f"(GET {MODELS_PATH} answered {refused.status_code}: {refused.body or refused.message}), "
        "so the name could not be matched to an id; other routes (the chat) may still work",
        model=name,
        status_code=error.status_code,
        url=error.url,
        body=error.body,
        hint="write the model's exact id (as the admin shows it, e.g. 'llama3.2:latest'), or ask "
        f"the admin to allow {MODELS_PATH} for API keys (API_KEY_ALLOWED_ENDPOINTS)",
        names=names,
    )


class _ModelAttempts:
    """Which id to send for a name: as given (or as it resolved before), then as resolved against
    the model list, then once more after asking the server to refresh its list."""

    def __init__(
        self,
        catalog: Catalog,
        name: str,
        is_missing: Callable[[OpenWebUIError], bool],
        names: Mapping[str, str],
    ) -> None:
        self.catalog = catalog
        self.names = names
        self.name = name
        self.is_missing = is_missing
        self.model_id = catalog.alias(name) or name
        self.tried: set[str] = set()
        self.models: list[ModelInfo] = []  # the list last offered
        self.refreshed = False  # `models` is the refreshed list: the next failure is final
        self.error: OpenWebUIError | None = None

    def failed(self, error: OpenWebUIError) -> list[ModelInfo] | None:
        """Record a failed send; re-raise what resolving cannot fix. The cached list to resolve
        against; None: fetch it first."""
        if not self.is_missing(error):
            raise error
        if self.refreshed:
            raise _final_model_error(self.name, self.models, error, self.names) from error
        self.error = error
        self.tried.add(self.model_id)
        self.catalog.forget(self.name)
        return self.catalog.models

    def offer(self, models: list[ModelInfo], *, refreshed: bool) -> bool:
        """Pick the next id from `models`. True: nothing fits, ask for a refreshed list."""
        self.models, self.refreshed = models, refreshed
        candidate = resolve(self.name, models)
        if candidate is not None and (candidate not in self.tried or refreshed):
            self.model_id = candidate
            return False
        if not refreshed:
            return True
        assert self.error is not None
        raise _final_model_error(self.name, models, self.error, self.names) from self.error

    def succeeded(self) -> None:
        self.catalog.remember(self.name, self.model_id)


class Models:
    """One client's model list requests, over its sender and its connection's catalog."""

    def __init__(self, sender: Sender, catalog: Catalog, read_timeout: float) -> None:
        self.sender = sender
        self.catalog = catalog
        self.timeout = min(read_timeout, MODELS_TIMEOUT)

    def fetch(self, *, refresh: bool = False) -> Plan[list[ModelInfo]]:
        """Every model this key may use (`refresh` asks the server to re-read its backends)."""
        payload = yield from self.sender.json(
            "GET",
            MODELS_PATH,
            params={"refresh": "true"} if refresh else None,
            timeout=self.timeout,
        )
        models = parse_models(payload)
        self.catalog.store(models)
        return models

    def resolve(self, name: str) -> Plan[str]:
        """The server id for what the user wrote; ModelNotFoundError with suggestions if none."""
        name = check_model_name(name, self.sender.names)
        models = self.catalog.models
        if models is None or resolve(name, models) is None:
            models = yield from self.fetch()
        model_id = resolve(name, models)
        if model_id is None:
            missing = ModelNotFoundError("Model not found")
            raise _final_model_error(name, models, missing, self.sender.names)
        return model_id

    def _listed(self, attempts: _ModelAttempts, *, refresh: bool) -> Plan[list[ModelInfo]]:
        try:
            return (yield from self.fetch(refresh=refresh))
        except (PermissionDeniedError, AuthenticationError) as refused:
            assert attempts.error is not None
            raise _list_refused(
                attempts.name, attempts.error, refused, self.sender.names
            ) from refused

    def with_model(
        self,
        name: str,
        send: Callable[[str], Plan[T]],
        is_missing: Callable[[OpenWebUIError], bool] = is_missing_model,
    ) -> Plan[T]:
        """`send(model_id)` with the id for `name`, resolving it when the server misses it."""
        attempts = _ModelAttempts(self.catalog, name, is_missing, self.sender.names)
        while True:
            try:
                result = yield from send(attempts.model_id)
            except OpenWebUIError as error:
                models = attempts.failed(error)
                if models is None:
                    models = yield from self._listed(attempts, refresh=False)
                if attempts.offer(models, refreshed=False):
                    refreshed = yield from self._listed(attempts, refresh=True)
                    attempts.offer(refreshed, refreshed=True)
                continue
            attempts.succeeded()
            return result
