"""The core's errors as `langchain_core.exceptions` classes, through one table.

Each class below is both LangChain's `Model*Error` (so `with_retry`, fallbacks and callers that
catch LangChain's classes keep working) and the core's `OpenWebUIError` subclass (so `layer`,
`setting`, `hint`, `status_code` and `url` stay available), with the core's message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from openwebui_adapters import errors

__all__ = [
    "OpenWebUIAPIError",
    "OpenWebUIAuthenticationError",
    "OpenWebUIConnectionError",
    "OpenWebUIContextOverflowError",
    "OpenWebUIInvalidRequestError",
    "OpenWebUIModelNotFoundError",
    "OpenWebUIPermissionDeniedError",
    "OpenWebUIRateLimitError",
    "OpenWebUIResponseError",
    "OpenWebUIRouteError",
    "OpenWebUITimeoutError",
    "map_errors",
    "to_langchain_error",
]


# --- reaching the server
class OpenWebUIConnectionError(ModelConnectionError, errors.NetworkError):
    """The server could not be reached (DNS, refused connection, TLS)."""


class OpenWebUIRouteError(ModelConnectionError, errors.RouteError):
    """The URL reached a server but not Open WebUI's API; retrying will not help."""

    is_retryable = False


class OpenWebUITimeoutError(ModelTimeoutError, errors.RequestTimeoutError):
    """The server did not answer within the timeout."""


# --- credentials and access
class OpenWebUIAuthenticationError(ModelAuthenticationError, errors.AuthenticationError):
    """The server refused the API key (401)."""


class OpenWebUIPermissionDeniedError(ModelPermissionDeniedError, errors.PermissionDeniedError):
    """The key is valid but not allowed to do this (403)."""


# --- the request
class OpenWebUIModelNotFoundError(ModelNotFoundError, errors.ModelNotFoundError):
    """The server has no model by that name; `suggestions` holds the closest ids."""


class OpenWebUIInvalidRequestError(ModelInvalidRequestError, errors.BadRequestError):
    """The server or the model's backend rejected the request (400, 422)."""


class OpenWebUIContextOverflowError(ContextOverflowError, errors.BadRequestError):
    """The input is longer than the model's context window."""


class OpenWebUIRateLimitError(ModelRateLimitError, errors.RateLimitError):
    """Too many requests (429); `retry_after` holds the server's wait, if it sent one."""


# --- the server's side
class OpenWebUIAPIError(ModelAPIError, errors.ServerError):
    """Open WebUI or the model's backend failed (5xx)."""


class OpenWebUIResponseError(ModelAPIError, errors.ResponseError):
    """The answer was unusable: not JSON, or a stream that ended early."""


# The table: each class's second base is the core error it stands for. A core error maps to the
# entry of its nearest ancestor (DNSError -> NetworkError -> OpenWebUIConnectionError).
_BY_CORE_CLASS: dict[type[errors.OpenWebUIError], type[errors.OpenWebUIError]] = {
    cls.__bases__[1]: cls
    for cls in (
        OpenWebUIConnectionError,
        OpenWebUIRouteError,
        OpenWebUITimeoutError,
        OpenWebUIAuthenticationError,
        OpenWebUIPermissionDeniedError,
        OpenWebUIModelNotFoundError,
        OpenWebUIInvalidRequestError,
        OpenWebUIRateLimitError,
        OpenWebUIAPIError,
        OpenWebUIResponseError,
    )
}

# A 400 whose text says the input is too long is LangChain's ContextOverflowError.
_CONTEXT_OVERFLOW = re.compile(
    r"context length|context window|maximum context|too many tokens|prompt is too long",
    re.IGNORECASE,
)


def _langchain_class(error: errors.OpenWebUIError) -> type[errors.OpenWebUIError] | None:
    if isinstance(error, errors.BadRequestError) and _CONTEXT_OVERFLOW.search(
        f"{error.message} {error.body or ''}"
    ):
        return OpenWebUIContextOverflowError
    return next((_BY_CORE_CLASS[c] for c in type(error).__mro__ if c in _BY_CORE_CLASS), None)


def to_langchain_error(error: errors.OpenWebUIError) -> errors.OpenWebUIError:
    """The same error (message and attributes) as the matching LangChain exception class.

    Errors with no LangChain counterpart (a `ConfigurationError`: a setting is wrong and nothing
    was sent) and errors already translated are returned unchanged.
    """
    target = _langchain_class(error)
    if target is None or isinstance(error, target):
        return error
    translated = target.__new__(target)
    Exception.__init__(translated, *error.args)
    translated.__dict__.update(error.__dict__)
    return translated


@contextmanager
def map_errors() -> Iterator[None]:
    """Re-raise the core's errors as their LangChain classes, keeping the original as cause."""
    try:
        yield
    except errors.OpenWebUIError as error:
        translated = to_langchain_error(error)
        if translated is error:
            raise
        raise translated from error
