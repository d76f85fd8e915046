"""The core's errors as `langchain_core.exceptions` classes, through one table.

Every core error class gets a twin that is both LangChain's `Model*Error` (so `with_retry`,
fallbacks and code catching LangChain's classes keep working) and the core class itself (so
`DNSError` stays a `DNSError`, with its `layer`, `setting`, `hint`, `status_code` and `url`),
carrying the core's message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from openwebui_adapters import errors

__all__ = ["LANGCHAIN_ERRORS", "OpenWebUIContextOverflowError", "map_errors", "to_langchain_error"]

# The table: a core error is raised as the LangChain class of its nearest listed ancestor.
_TABLE: dict[type[errors.OpenWebUIError], type[ModelError]] = {
    errors.NetworkError: ModelConnectionError,  # DNS, refused, TLS
    errors.RouteError: ModelConnectionError,  # a server, but no Open WebUI API at that URL
    errors.RequestTimeoutError: ModelTimeoutError,
    errors.AuthenticationError: ModelAuthenticationError,
    errors.PermissionDeniedError: ModelPermissionDeniedError,
    errors.ModelNotFoundError: ModelNotFoundError,
    errors.BadRequestError: ModelInvalidRequestError,
    errors.RateLimitError: ModelRateLimitError,
    errors.ServerError: ModelAPIError,
    errors.ResponseError: ModelAPIError,
    # A file that cannot be processed, a knowledge base that does not exist: the request's fault.
    errors.KnowledgeError: ModelInvalidRequestError,
    # Something in front of Open WebUI: its limit, its credentials, its sign-in page.
    errors.FrontError: ModelAPIError,
    errors.RequestTooLargeError: ModelInvalidRequestError,
    errors.ProxyAuthenticationError: ModelAuthenticationError,
    errors.SignInRequiredError: ModelAuthenticationError,
    # The proxy's read timeout ended the request: a timeout to LangChain, as LiteLLM's 504 is.
    errors.GatewayTimeoutError: ModelTimeoutError,
}
# Failures that another identical attempt cannot fix, whatever LangChain's class says.
_NOT_RETRYABLE = (
    errors.RouteError,
    errors.TLSError,
    errors.SchemeMismatchError,
    errors.KnowledgeError,
    errors.FrontError,
)


class OpenWebUIContextOverflowError(ContextOverflowError, errors.ContextWindowExceededError):
    """The input is longer than the model's context window (the core recognised the answer)."""


def _twin(core: type[errors.OpenWebUIError]) -> type[errors.OpenWebUIError] | None:
    """`OpenWebUI<Core>`: the LangChain class and the core class in one, or None if unmapped."""
    langchain = next((_TABLE[c] for c in core.__mro__ if c in _TABLE), None)
    if langchain is None:
        return None
    namespace: dict[str, object] = {"__module__": __name__, "__doc__": core.__doc__}
    if issubclass(core, _NOT_RETRYABLE):
        namespace["is_retryable"] = False
    twin = type(f"OpenWebUI{core.__name__}", (langchain, core), namespace)
    globals()[twin.__name__] = twin  # importable by name, so translated errors pickle
    return twin


LANGCHAIN_ERRORS: Mapping[type[errors.OpenWebUIError], type[errors.OpenWebUIError]] = {
    **{
        core: twin
        for core in vars(errors).values()
        if isinstance(core, type) and issubclass(core, errors.OpenWebUIError)
        if (twin := _twin(core)) is not None
    },
    errors.ContextWindowExceededError: OpenWebUIContextOverflowError,
}
"""Each core error class -> the class it is raised as to LangChain code."""


def _langchain_class(error: errors.OpenWebUIError) -> type[errors.OpenWebUIError] | None:
    if isinstance(error, ModelError):  # already translated
        return None
    return next((LANGCHAIN_ERRORS[c] for c in type(error).__mro__ if c in LANGCHAIN_ERRORS), None)


def to_langchain_error(error: errors.OpenWebUIError) -> errors.OpenWebUIError:
    """The same error (message and attributes) as its LangChain twin.

    Returned unchanged: errors already translated, and those with no LangChain counterpart (a
    `ConfigurationError`: a setting is wrong and nothing was sent).
    """
    target = _langchain_class(error)
    if target is None:
        return error
    translated = target.__new__(target)
    Exception.__init__(translated, *error.args)
    translated.__dict__.update(error.__dict__)
    return translated


@contextmanager
def map_errors() -> Iterator[None]:
    """Re-raise the core's errors as their LangChain twins, keeping the original as the cause."""
    try:
        yield
    except errors.OpenWebUIError as error:
        translated = to_langchain_error(error)
        if translated is error:
            raise
        raise translated from error
