"""The core's errors as LiteLLM's exception classes: one table, and one context manager.

LiteLLM passes its own classes through untouched, so its retries, fallbacks and Router see what
they would see from a built-in provider (`AuthenticationError` is not retried, a 502/503 cools a
deployment down...). The message is the core's (layer, setting, fix); the core's `layer`,
`setting`, `hint`, `url`, `suggestions` and `retry_after` are copied on; the core error is the
`__cause__`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

import httpx
from litellm import exceptions as llm_errors

from openwebui_adapters import errors
from openwebui_adapters._settings import PROVIDER

__all__ = ["map_errors", "to_litellm_error"]

# A core error is raised as the LiteLLM class of its nearest listed ancestor.
_LITELLM_ERRORS: Final[Mapping[type[errors.OpenWebUIError], type[Exception]]] = {
    errors.ConfigurationError: llm_errors.BadRequestError,  # nothing was sent: a setting is wrong
    errors.NetworkError: llm_errors.APIConnectionError,  # DNS, refused, TLS
    errors.RequestTimeoutError: llm_errors.Timeout,
    errors.RouteError: llm_errors.NotFoundError,  # a server, but no Open WebUI API at that URL
    errors.AuthenticationError: llm_errors.AuthenticationError,
    errors.PermissionDeniedError: llm_errors.PermissionDeniedError,
    errors.ModelNotFoundError: llm_errors.NotFoundError,
    errors.BadRequestError: llm_errors.BadRequestError,
    # A Router's `context_window_fallbacks` fire on this class.
    errors.ContextWindowExceededError: llm_errors.ContextWindowExceededError,
    errors.RateLimitError: llm_errors.RateLimitError,
    errors.ServerError: llm_errors.InternalServerError,
    errors.ResponseError: llm_errors.APIError,  # not JSON, or a stream cut before [DONE]
    errors.KnowledgeError: llm_errors.BadRequestError,  # a file the server could not process
    errors.KnowledgeNotFoundError: llm_errors.NotFoundError,  # no knowledge base by that name
    # Something in front of Open WebUI: LiteLLM reads a 413 as a bad request, as for OpenAI.
    errors.FrontError: llm_errors.APIError,
    errors.RequestTooLargeError: llm_errors.BadRequestError,
    errors.ProxyAuthenticationError: llm_errors.AuthenticationError,
    errors.SignInRequiredError: llm_errors.AuthenticationError,
}
"""Each core error class -> the LiteLLM class it is raised as (the core error is its cause)."""

# An upstream failure's status picks LiteLLM's class as it does for its built-in providers.
_SERVER_ERRORS: Final[Mapping[int, type[Exception]]] = {
    502: llm_errors.BadGatewayError,
    503: llm_errors.ServiceUnavailableError,
    504: llm_errors.Timeout,
}
# Classes whose HTTP status is part of their meaning: LiteLLM, its Router and its Proxy read the
# status, not the class (Open WebUI answers an unknown model with 400, which must still be a 404).
_CLASS_STATUS: Final[Mapping[type[Exception], int]] = {
    llm_errors.BadRequestError: 400,
    llm_errors.ContextWindowExceededError: 400,
    llm_errors.AuthenticationError: 401,
    llm_errors.PermissionDeniedError: 403,
    llm_errors.NotFoundError: 404,
    llm_errors.RateLimitError: 429,
}
# The core's diagnosis, copied onto the LiteLLM error. LiteLLM's own `message`, `status_code`,
# `model` and `body` keep their meaning; the core error itself is the `__cause__`.
_CORE_ATTRIBUTES: Final = ("layer", "setting", "hint", "url", "suggestions", "retry_after")


def _litellm_class(error: errors.OpenWebUIError) -> type[Exception]:
    """The LiteLLM class a core error is raised as."""
    if isinstance(error, errors.ServerError) and error.status_code in _SERVER_ERRORS:
        return _SERVER_ERRORS[error.status_code or 0]
    return next(_LITELLM_ERRORS[c] for c in type(error).__mro__ if c in _LITELLM_ERRORS)


def to_litellm_error(error: errors.OpenWebUIError, model: str) -> Exception:
    """The same failure as LiteLLM's exception class, carrying the core's message and attributes.

    LiteLLM passes its own classes through untouched, so its retries, fallbacks and Router see
    what they would see from a built-in provider (`AuthenticationError` is not retried, ...).
    """
    cls = _litellm_class(error)
    server_status = error.status_code if error.status_code and error.status_code >= 400 else 500
    status = _CLASS_STATUS.get(cls, server_status)
    request = httpx.Request("POST", error.url or "http://openwebui.invalid")
    retry_after = getattr(error, "retry_after", None)
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    offered = {
        "message": str(error),
        "llm_provider": PROVIDER,
        "model": model,
        "status_code": status,
        "exception_status_code": error.status_code,  # None: LiteLLM's 408 for a timeout
        "request": request,
        "response": httpx.Response(status, headers=headers, request=request),
        "headers": headers or None,
    }
    accepted = inspect.signature(cls.__init__).parameters
    translated = cls(**{name: value for name, value in offered.items() if name in accepted})
    for name in _CORE_ATTRIBUTES:
        setattr(translated, name, getattr(error, name, None))
    return translated


@contextmanager
def map_errors(model: str) -> Iterator[None]:
    """Re-raise the core's errors as LiteLLM's classes, keeping the original as the cause."""
    try:
        yield
    except errors.OpenWebUIError as error:
        raise to_litellm_error(error, model) from error
