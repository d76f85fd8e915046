"""Every row of the error table: a real server answer becomes the error naming layer and setting."""

from __future__ import annotations

import pickle
import socket
import ssl

import httpx
import pytest

from openwebui_adapters import errors
from openwebui_adapters._diagnosis import (
    error_from_redirect,
    error_from_response,
    error_from_transport,
    parse_retry_after,
    server_detail,
    tls_failure,
)
from samples import sample_response

URL = "http://owui.test/api/chat/completions"


def diagnose(response: httpx.Response, model: str | None = "llama3") -> errors.OpenWebUIError:
    response.request = httpx.Request("POST", URL)
    return error_from_response(response, model=model)


@pytest.mark.parametrize(
    ("sample", "error_class", "layer", "setting"),
    [
        ("err_nokey_models", errors.AuthenticationError, "authentication", "OPENWEBUI_API_KEY"),
        ("err_badkey_chat", errors.AuthenticationError, "authentication", "OPENWEBUI_API_KEY"),
        ("err_badjwt_chat", errors.AuthenticationError, "authentication", "OPENWEBUI_API_KEY"),
        (
            "err_apikeys_disabled_chat",
            errors.PermissionDeniedError,
            "permission",
            "OPENWEBUI_API_KEY",
        ),
        ("err_unknown_model_chat", errors.ModelNotFoundError, "model", "model"),
        ("err_unknown_model_chat_stream", errors.ModelNotFoundError, "model", "model"),
        ("err_unknown_model_ollama_chat", errors.ModelNotFoundError, "model", "model"),
        ("err_unknown_model_openai", errors.ModelNotFoundError, "model", "model"),
        ("err_unknown_api_path", errors.RouteError, "route", "OPENWEBUI_SERVER_URL"),
        ("err_get_chat", errors.RouteError, "route", "OPENWEBUI_SERVER_URL"),
        ("err_put_chat", errors.RouteError, "route", "OPENWEBUI_SERVER_URL"),
        ("err_post_models", errors.RouteError, "route", "OPENWEBUI_SERVER_URL"),
        ("err_invalid_json", errors.BadRequestError, "request", None),
        ("err_upstream_400_chat", errors.BadRequestError, "request", None),
        ("err_upstream_429_chat", errors.RateLimitError, "rate_limit", None),
        ("err_upstream_down_chat", errors.ServerError, "upstream", None),
        ("err_upstream_500_chat_stream", errors.ServerError, "upstream", None),
        ("err_unknown_model_embeddings", errors.ServerError, "upstream", None),
    ],
)
def test_server_answer_becomes_the_error_for_its_layer(
    sample: str, error_class: type[errors.OpenWebUIError], layer: str, setting: str | None
) -> None:
    error = diagnose(sample_response(sample))
    assert type(error) is error_class
    assert error.layer == layer
    assert error.setting == setting
    assert error.hint
    assert error.url == URL
    assert error.status_code == sample_response(sample).status_code


def test_model_error_names_the_model_as_written() -> None:
    error = diagnose(sample_response("err_unknown_model_chat"), model="lama3")
    assert "'lama3'" in str(error)


def test_api_keys_disabled_tells_to_ask_the_admin() -> None:
    error = diagnose(sample_response("err_apikeys_disabled_chat"))
    assert "admin" in error.hint
    assert "ENABLE_API_KEYS" in error.hint


def test_html_page_is_a_route_error_even_with_status_200() -> None:
    error = diagnose(sample_response("err_unknown_api_path"))
    assert error.status_code == 200
    assert "HTML page" in str(error)


def test_upstream_down_says_the_backend_is_unreachable() -> None:
    error = diagnose(sample_response("err_upstream_down_chat"))
    assert "backend" in error.message
    assert "admin" in error.hint


def test_rate_limit_reads_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "3"}, json={"detail": "slow down"})
    error = diagnose(response)
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 3.0


def test_retry_after_accepts_http_dates_and_ignores_garbage() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


def test_server_detail_reads_fastapi_and_openai_bodies() -> None:
    assert server_detail('{"detail":"Model not found"}') == "Model not found"
    assert server_detail('{"error":{"message":"quota"}}') == "quota"
    assert server_detail("Internal Server Error") == "Internal Server Error"
    assert len(server_detail("x" * 5000)) < 400


@pytest.mark.parametrize(
    ("exc", "error_class", "setting"),
    [
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            errors.DNSError,
            "OPENWEBUI_SERVER_URL",
        ),
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            errors.ServerUnreachableError,
            "OPENWEBUI_SERVER_URL",
        ),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            errors.TLSError,
            "verify",
        ),
        (httpx.ConnectTimeout("timed out"), errors.ConnectTimeoutError, "OPENWEBUI_SERVER_URL"),
        (httpx.ReadTimeout("timed out"), errors.ReadTimeoutError, "timeout"),
        (
            httpx.RemoteProtocolError("Server disconnected"),
            errors.ServerUnreachableError,
            "OPENWEBUI_SERVER_URL",
        ),
        (
            httpx.UnsupportedProtocol("Request URL has an unsupported protocol"),
            errors.ConfigurationError,
            "OPENWEBUI_SERVER_URL",
        ),
        # A body whose Content-Encoding lies (a CDN's page re-encoded): the answer, not the network
        (httpx.DecodingError("incorrect header check"), errors.ResponseError, None),
    ],
)
def test_transport_failure_becomes_the_error_for_its_layer(
    exc: Exception, error_class: type[errors.OpenWebUIError], setting: str | None
) -> None:
    error = error_from_transport(exc, URL)
    assert type(error) is error_class
    assert error.setting == setting
    assert error.url == URL


def test_errors_survive_pickling_with_their_fields() -> None:
    error = errors.ModelNotFoundError("no model", model="x", suggestions=["y"], status_code=400)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.model, copy.suggestions, copy.status_code, str(copy)) == (
        "x",
        ["y"],
        400,
        str(error),
    )


def test_suggestions_become_the_hint() -> None:
    error = errors.ModelNotFoundError("no model", suggestions=["llama3:latest", "llama3:70b"])
    assert "did you mean 'llama3:latest', 'llama3:70b'?" in str(error)


@pytest.mark.parametrize(
    "detail",
    [
        "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",
        "the request exceeds the available context size, try increasing the context length",
        "prompt is too long: 210000 tokens > 200000 maximum",
        "Input is too long for requested model.",
    ],
)
def test_a_context_overflow_is_its_own_class_naming_the_messages(detail: str) -> None:
    response = httpx.Response(
        400,
        json={"error": {"message": detail}},
        request=httpx.Request("POST", "http://owui.test/api/chat/completions"),
    )
    error = error_from_response(response, model="llama3")
    assert type(error) is errors.ContextWindowExceededError
    assert isinstance(error, errors.BadRequestError)  # code catching 400s still catches it
    assert error.setting == "messages"
    assert detail[:40] in error.message


def test_an_ordinary_bad_request_is_not_a_context_overflow() -> None:
    response = httpx.Response(
        400,
        json={"detail": "temperature must be at most 2"},
        request=httpx.Request("POST", "http://owui.test/api/chat/completions"),
    )
    assert type(error_from_response(response)) is errors.BadRequestError


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_retry_after_is_read_on_any_status(status: int) -> None:
    response = httpx.Response(
        status,
        headers={"Retry-After": "7"},
        json={"detail": "busy"},
        request=httpx.Request("POST", "http://owui.test/api/chat/completions"),
    )
    assert error_from_response(response).retry_after == 7.0


# --- mutation pass (issue 13): each test below fails when one branch of the diagnosis is removed


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_failure_that_mentions_a_model_is_still_a_server_failure(status: int) -> None:
    # Only Open WebUI's own 400/404 "Model not found" names the model setting; a 5xx is retried.
    response = httpx.Response(status, json={"detail": "backend: model 'llama3' not found"})
    error = diagnose(response)
    assert type(error) is errors.ServerError
    assert error.setting is None


def test_a_backend_saying_its_api_key_is_not_enabled_is_not_open_webuis_setting() -> None:
    # ENABLE_API_KEYS is the diagnosis for Open WebUI's own 403 only.
    response = httpx.Response(400, json={"detail": "This API key is not enabled for this model"})
    error = diagnose(response)
    assert type(error) is errors.BadRequestError
    assert "ENABLE_API_KEYS" not in error.hint


def test_too_many_tokens_per_minute_is_a_rate_limit_not_a_context_overflow() -> None:
    response = httpx.Response(429, json={"detail": "Too many tokens per minute, slow down"})
    assert type(diagnose(response)) is errors.RateLimitError


@pytest.mark.parametrize("status", [401, 403, 404, 405, 408, 413, 422, 418])
def test_the_servers_reason_is_quoted_for_every_status(status: int) -> None:
    response = httpx.Response(status, json={"detail": "the server's own words"})
    assert "the server's own words" in diagnose(response).message


def test_an_empty_body_leaves_no_dangling_colon() -> None:
    # Open WebUI's own (its middleware's X-Process-Time), though it always sends a detail.
    error = diagnose(httpx.Response(401, headers={"x-process-time": "0.001"}))
    assert error.message == "Open WebUI did not accept the API key"
    assert error.body is None


def test_a_response_built_by_hand_is_diagnosed_without_a_url() -> None:
    error = error_from_response(httpx.Response(404, json={"detail": "Not Found"}))
    assert type(error) is errors.RouteError
    assert error.url is None


def test_a_streamed_answer_not_read_is_diagnosed_from_its_status() -> None:
    response = httpx.Response(503, stream=httpx.ByteStream(b'{"detail": "busy"}'))
    response.request = httpx.Request("POST", URL)
    error = error_from_response(response)
    assert type(error) is errors.ServerError
    assert error.body is None


def test_dns_failure_is_found_in_the_exceptions_cause() -> None:
    # httpx re-raises httpcore's error; the OS's words may only be in the chained exception.
    exc = httpx.ConnectError("connection failed")
    exc.__cause__ = OSError("[Errno -2] Name or service not known")
    assert type(error_from_transport(exc, URL)) is errors.DNSError


def test_an_exception_without_text_is_named_by_its_type() -> None:
    error = error_from_transport(httpx.ReadTimeout(""), URL)
    assert error.message.endswith(": ReadTimeout")


def test_a_transport_failure_outside_the_table_is_an_unreachable_server() -> None:
    error = error_from_transport(httpx.ProxyError("407 Proxy Authentication Required"), URL)
    assert type(error) is errors.ServerUnreachableError
    assert error.url == URL
    assert "407" in error.message


def _chained(outer: Exception, *causes: BaseException) -> Exception:
    """`outer` raised from `causes[0]`, raised from `causes[1]`...: as a transport raises it."""
    current: BaseException = outer
    for cause in causes:
        current.__cause__ = cause
        current = cause
    return outer


# aiohttp (LiteLLM's async transport) words every connect failure "... ssl:<ssl.SSLContext ...>".
AIOHTTP_REFUSED = "Cannot connect to host 127.0.0.1:1 ssl:<ssl.SSLContext object at 0x7f> [refused]"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            _chained(httpx.ConnectError(AIOHTTP_REFUSED), ConnectionRefusedError(111, "refused")),
            errors.ServerUnreachableError,
        ),
        (
            httpx.ConnectError("Cannot connect to host h:443 ssl:default [x]"),
            errors.ServerUnreachableError,
        ),
        (
            _chained(httpx.ConnectError("Cannot connect"), socket.gaierror(-2, "unknown")),
            errors.DNSError,
        ),
        (
            _chained(httpx.ConnectError("Cannot connect"), ssl.SSLCertVerificationError(1, "x")),
            errors.TLSError,
        ),
        (
            _chained(httpx.ProtocolError("Cannot connect"), ssl.SSLCertVerificationError(1, "x")),
            errors.TLSError,
        ),
        (
            _chained(httpx.ReadError("reset"), ssl.SSLError(1, "bad record mac")),
            errors.TLSError,
        ),
    ],
    ids=["refused", "ssl-setting-named", "dns-by-type", "tls-by-type", "tls-protocol", "tls-read"],
)
def test_a_transport_failure_is_classified_by_its_cause_not_only_its_words(
    exc: Exception, expected: type[errors.OpenWebUIError]
) -> None:
    assert type(error_from_transport(exc, URL)) is expected


# -- what the mutation pass found unasserted: each row below fails when one branch is removed ---


@pytest.mark.parametrize(
    ("status", "error_class", "message"),
    [
        (400, errors.BadRequestError, "Open WebUI rejected the request: no"),
        (401, errors.AuthenticationError, "Open WebUI did not accept the API key: no"),
        (403, errors.PermissionDeniedError, "Open WebUI refused this key access: no"),
        (404, errors.RouteError, "No Open WebUI API at this URL (404): no"),
        (405, errors.RouteError, "No Open WebUI API at this URL (405 Method Not Allowed): no"),
        (408, errors.ReadTimeoutError, "The server timed out the request (408): no"),
        (413, errors.RequestTooLargeError, "The request is too large for the server (413): no"),
        (422, errors.BadRequestError, "Open WebUI could not parse the request (422): no"),
        (429, errors.RateLimitError, "Rate limited (429): no"),
        (418, errors.BadRequestError, "Unexpected answer (HTTP 418): no"),
        (500, errors.ServerError, "The server failed (500): no"),
    ],
)
def test_each_status_open_webui_answers_is_its_own_error(
    status: int, error_class: type[errors.OpenWebUIError], message: str
) -> None:
    error = diagnose(httpx.Response(status, json={"detail": "no"}))
    assert type(error) is error_class
    assert error.message == message


def test_a_missing_model_not_named_by_the_caller_quotes_the_server() -> None:
    error = diagnose(httpx.Response(400, json={"detail": "Model 'x' not found"}), model=None)
    assert type(error) is errors.ModelNotFoundError
    assert error.message == "Model not found: Model 'x' not found"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"error": "quota exceeded"}', "quota exceeded"),
        ('{"detail": [{"loc": ["body"], "msg": "field required"}]}', '[{"loc": ["body"], "msg"'),
        ('{"message": "no detail field"}', '{"message": "no detail field"}'),
    ],
)
def test_server_detail_reads_an_error_text_a_detail_list_and_other_json_whole(
    body: str, detail: str
) -> None:
    assert server_detail(body).startswith(detail)


def test_a_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


@pytest.mark.parametrize(
    "value",
    ["Mon, 20 Nov 9999999999 12:00:00 GMT", "Mon, 01 Jan 2024 00:00:00 +99999999999999999999"],
    ids=["year", "offset"],
)
def test_a_retry_after_date_too_large_for_a_datetime_is_ignored(value: str) -> None:
    """Python raises OverflowError for these, not the ValueError of other bad dates."""
    assert parse_retry_after(value) is None
    error = diagnose(httpx.Response(429, headers={"Retry-After": value}, json={"detail": "slow"}))
    assert type(error) is errors.RateLimitError
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("exc", "error_class", "message"),
    [
        (
            httpx.WriteTimeout("x"),
            errors.ReadTimeoutError,
            "Sending the request to {url} timed out",
        ),
        (httpx.PoolTimeout("x"), errors.ReadTimeoutError, "No free connection to {url} within"),
        (
            httpx.RemoteProtocolError("x"),
            errors.ServerUnreachableError,
            "The connection to {url} was",
        ),
        (
            httpx.ReadError("x"),
            errors.ServerUnreachableError,
            "The connection to {url} was dropped",
        ),
        (
            httpx.WriteError("x"),
            errors.ServerUnreachableError,
            "The connection to {url} was dropped",
        ),
        (httpx.InvalidURL("x"), errors.ConfigurationError, "Invalid URL {url}"),
    ],
)
def test_each_transport_failure_has_its_own_words(
    exc: Exception, error_class: type[errors.OpenWebUIError], message: str
) -> None:
    error = error_from_transport(exc, URL)
    assert type(error) is error_class
    assert error.message.startswith(message.format(url=URL))


def test_the_transports_own_words_are_quoted() -> None:
    error = error_from_transport(httpx.ConnectError("[Errno 111] Connection refused"), URL)
    assert error.message == f"Could not connect to {URL}: [Errno 111] Connection refused"


@pytest.mark.parametrize(
    "words",
    [
        "[Errno -2] Name or service not known",  # glibc
        "[Errno 8] nodename nor servname provided, or not known",  # macOS
        "[Errno 11001] getaddrinfo failed",  # Windows
        "[Errno -5] No address associated with hostname",  # glibc, a name without an address
        "[Errno -2] Name does not resolve",  # musl (Alpine)
        "[Errno -4] Non-recoverable failure in name resolution",  # glibc
        "[Errno -3] Temporary failure in name resolution",  # glibc, its resolver not answering
    ],
)
def test_each_systems_words_for_a_name_that_does_not_resolve_are_dns(words: str) -> None:
    assert type(error_from_transport(httpx.ConnectError(words), URL)) is errors.DNSError


@pytest.mark.parametrize(
    "words",
    [
        "certificate has expired",
        "EOF occurred in violation of protocol (_ssl.c:2426)",
        "tlsv1 alert protocol version",
        "handshake failure",
    ],
)
def test_each_word_of_a_tls_failure_is_read_as_one(words: str) -> None:
    error = error_from_transport(httpx.ConnectError(words), "https://owui.test/api/models")
    assert type(error) is errors.TLSError


@pytest.mark.parametrize(
    "words",
    [
        "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",  # OpenSSL 1.1 and 3.0
        "[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1000)",  # OpenSSL 3.2 on
        "[SSL: PACKET_LENGTH_TOO_LONG] packet length too long (_ssl.c:1000)",
    ],
)
def test_https_to_a_server_that_answers_plain_http_is_a_scheme_to_change(words: str) -> None:
    url = "https://owui.test/api/models"
    error = error_from_transport(httpx.ConnectError(words), url)
    assert type(error) is errors.SchemeMismatchError
    assert "use http://" in error.hint
    assert type(tls_failure(httpx.ConnectError("certificate verify failed"), url)) is (
        errors.TLSError
    )


def test_a_plain_answer_to_tls_on_an_http_url_is_not_told_to_use_http() -> None:
    """On http:// the TLS was a proxy's (an https:// one answering in plain HTTP), and the URL
    already says http://."""
    exc = httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    error = error_from_transport(exc, "http://owui.test/api/models")
    assert type(error) is errors.TLSError


def test_a_handshake_that_times_out_is_a_timeout_not_a_certificate() -> None:
    exc = httpx.ConnectTimeout("_ssl.c:990: The handshake operation timed out")
    assert type(error_from_transport(exc, URL)) is errors.ConnectTimeoutError


def test_a_read_timeout_with_tls_in_its_chain_is_still_a_read_timeout() -> None:
    exc = _chained(httpx.ReadTimeout("The read operation timed out"), ssl.SSLWantReadError())
    assert type(error_from_transport(exc, URL)) is errors.ReadTimeoutError


def test_a_dns_failure_is_found_in_the_exceptions_context_too() -> None:
    exc = httpx.ConnectError("connection failed")
    exc.__context__ = socket.gaierror(-2, "unknown")  # raised while handling, not `from`
    assert type(error_from_transport(exc, URL)) is errors.DNSError


def test_a_chain_of_causes_that_loops_back_is_read_once_through() -> None:
    exc = httpx.ConnectError("connection failed")
    cause = OSError("[Errno -2] Name or service not known")
    exc.__cause__, cause.__cause__ = cause, exc  # re-raising a kept exception closes a loop
    assert type(error_from_transport(exc, URL)) is errors.DNSError


@pytest.mark.parametrize(
    ("exc", "url", "says_https"),
    [
        (httpx.RemoteProtocolError("Server disconnected"), "http://owui.test/api/models", True),
        (httpx.ReadError("Connection reset by peer"), "http://owui.test/api/models", True),
        (httpx.RemoteProtocolError("Server disconnected"), "https://owui.test/api/models", False),
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "http://owui.test/api/models",
            False,
        ),
    ],
)
def test_a_plain_request_dropped_without_an_answer_suggests_https(
    exc: Exception, url: str, says_https: bool
) -> None:
    assert ("use https://" in error_from_transport(exc, url).hint) is says_https


def _redirected(sent: str, location: str) -> errors.OpenWebUIError:
    response = httpx.Response(301, headers={"location": location})
    response.request = httpx.Request("POST", sent)
    return error_from_redirect(response, location)


def test_a_redirect_from_https_to_plain_http_is_not_followed_and_says_so() -> None:
    error = _redirected("https://owui.test/api/chat/completions", "http://owui.test/x")
    assert type(error) is errors.SchemeMismatchError
    assert "redirected to plain HTTP" in error.message
    other = _redirected(  # the same route on another host: the server moved
        "https://owui.test/api/chat/completions", "https://other.test/api/chat/completions"
    )
    assert type(other) is errors.RouteError
    assert "redirected to another host" in other.message
