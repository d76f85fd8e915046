"""Cassette scrubbing and matching for recordings of a real Open WebUI.

Recording happens against http://127.0.0.1:<port> with a real API key; what is written to
cassettes/ must hold neither. Every request and response goes through `Scrubber` before it is
written (and every incoming request before it is matched, so replay and recording agree).
`python tests/vcr_support.py cassettes/` scrubs existing cassette files again in place.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PLACEHOLDER_URL = "http://openwebui.test"
PLACEHOLDER_HOST = "openwebui.test"
PLACEHOLDER_KEY = "sk-replay-0000"
UPSTREAM_URL = "http://upstream.test"
UPSTREAM_HOST = "upstream.test"
EMAIL_PLACEHOLDER = "<email>"
JWT_PLACEHOLDER = "<jwt>"

# Keys whose values change on every request: ignored when request bodies are compared.
VOLATILE_KEYS = frozenset({"id", "created", "chat_id", "message_id", "session_id", "tool_call_id"})
# Keys holding prose whose indentation may differ between Pythons: compared without layout.
DESCRIPTION_KEY = "description"
# Response headers that change on every request or carry session state: not recorded.
DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie", "date", "x-process-time"})
DROPPED_REQUEST_HEADERS = frozenset({"cookie"})
SECRET_HEADERS = {"authorization": f"Bearer {PLACEHOLDER_KEY}", "x-api-key": PLACEHOLDER_KEY}

# Real keys are long; a floor of 8 characters leaves words such as "sk-learn" alone.
SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
BEARER = re.compile(rf"\b(Bearer\s+)(?!{re.escape(PLACEHOLDER_KEY)}\b)[A-Za-z0-9._~+/=-]{{8,}}")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_LOOPBACK = r"(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\])"
LOOPBACK_URL = re.compile(rf"https?://{_LOOPBACK}(?::\d+)?", re.IGNORECASE)
LOOPBACK_HOST_PORT = re.compile(rf"\b{_LOOPBACK}:\d+", re.IGNORECASE)
# Open WebUI reports where it stored an upload: the recording machine's data directory.
UPLOAD_DIR = re.compile(r'("path"\s*:\s*")[^"]*?(/uploads/)')
SERVER_DATA_DIR = "/app/backend/data"  # where the Open WebUI container keeps its data


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Scrubber:
    """Removes keys, tokens, emails, cookies and the recording host from recorded exchanges.

    `server_url` is the Open WebUI the recording ran against; it becomes `PLACEHOLDER_URL`.
    Any other loopback address (the model upstream behind the server) becomes `UPSTREAM_URL`.
    """

    def __init__(self, server_url: str | None = None) -> None:
        self.origin = _origin(server_url) if server_url else None

    def text(self, text: str) -> str:
        if self.origin:
            text = text.replace(self.origin, PLACEHOLDER_URL)
            text = text.replace(self.origin.split("://", 1)[1], PLACEHOLDER_HOST)
        text = LOOPBACK_URL.sub(UPSTREAM_URL, text)
        text = LOOPBACK_HOST_PORT.sub(UPSTREAM_HOST, text)
        text = UPLOAD_DIR.sub(rf"\g<1>{SERVER_DATA_DIR}\g<2>", text)
        text = JWT.sub(JWT_PLACEHOLDER, text)
        text = SK_KEY.sub(PLACEHOLDER_KEY, text)
        text = BEARER.sub(rf"\g<1>{PLACEHOLDER_KEY}", text)
        return EMAIL.sub(EMAIL_PLACEHOLDER, text)

    def body(self, body: Any) -> Any:
        """Scrub a body given as bytes or str; binary bodies are left as they are."""
        if isinstance(body, bytes):
            try:
                return self.text(body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                return body
        if isinstance(body, str):
            return self.text(body)
        return body

    def uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        path = self.text(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))
        return PLACEHOLDER_URL + path

    def headers(self, headers: Mapping[str, Any], dropped: frozenset[str]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower in dropped:
                continue
            if lower in SECRET_HEADERS:
                clean[name] = _like(value, SECRET_HEADERS[lower])
            elif lower == "host":
                clean[name] = _like(value, PLACEHOLDER_HOST)
            elif isinstance(value, list):
                clean[name] = [self.text(str(item)) for item in value]
            else:
                clean[name] = self.text(str(value))
        return clean

    def request(self, request: Any) -> Any:
        """vcrpy `before_record_request`: gets a copy of the request, returns it scrubbed."""
        request.uri = self.uri(request.uri)
        request.headers = self.headers(request.headers, DROPPED_REQUEST_HEADERS)
        if isinstance(request.body, (bytes, str)):
            request.body = self.body(request.body)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """vcrpy `before_record_response`: decode what vcrpy could not, then scrub."""
        response = decode_body(copy.deepcopy(response))
        response["headers"] = self.headers(response.get("headers", {}), DROPPED_RESPONSE_HEADERS)
        body = response.get("body", {})
        if "string" in body:
            body["string"] = self.body(body["string"])
            _fix_content_length(response)
        return response


def _like(value: Any, replacement: str) -> Any:
    """The replacement in the shape vcrpy stored the header in (a list of values or a value)."""
    return [replacement] if isinstance(value, list) else replacement


def _zstd(data: bytes) -> bytes:
    import zstandard

    return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))


def _brotli(data: bytes) -> bytes:
    try:
        import brotli
    except ImportError:
        import brotlicffi as brotli
    return bytes(brotli.decompress(data))


# vcrpy's `decode_compressed_response` handles gzip and deflate; httpx also asks for these
# whenever their package is installed, and Open WebUI answers with them.
EXTRA_DECODERS = {"zstd": _zstd, "br": _brotli}


def decode_body(response: dict[str, Any]) -> dict[str, Any]:
    """Decompress a zstd or brotli body in place and drop its Content-Encoding header."""
    headers = response.get("headers", {})
    name = next((key for key in headers if key.lower() == "content-encoding"), None)
    if name is None:
        return response
    values = headers[name] if isinstance(headers[name], list) else [headers[name]]
    decoder = EXTRA_DECODERS.get(str(values[0]).strip().lower()) if values else None
    body = response.get("body", {})
    if decoder is None or not isinstance(body.get("string"), bytes):
        return response
    body["string"] = decoder(body["string"])
    del headers[name]
    return _fix_content_length(response)


def _fix_content_length(response: dict[str, Any]) -> dict[str, Any]:
    """Make a Content-Length header agree with the (decoded, scrubbed) body."""
    body = response.get("body", {}).get("string")
    size = len(body.encode("utf-8") if isinstance(body, str) else body or b"")
    headers = response.get("headers", {})
    for key in [key for key in headers if key.lower() == "content-length"]:
        headers[key] = [str(size)]
    return response


# --- matching ----------------------------------------------------------------------------------


def prose(text: str) -> str:
    """A description without its layout: each line stripped, no blank lines at either end.

    Python 3.13's compiler strips the common indentation of docstrings, so a tool described by
    its docstring sends other whitespace than it did when recorded; the words, their order and
    the line breaks between them still identify the request.
    """
    return "\n".join(line.strip() for line in text.strip().splitlines())


def _normalise(value: Any) -> Any:
    """Drop volatile keys; reduce `description` strings (tools, JSON schemas) to their prose."""
    if isinstance(value, dict):
        return {
            k: prose(v) if k == DESCRIPTION_KEY and isinstance(v, str) else _normalise(v)
            for k, v in value.items()
            if k not in VOLATILE_KEYS
        }
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def parsed_body(body: Any) -> Any:
    """A request body as normalised JSON (see `_normalise`), or as raw bytes when not JSON."""
    if body is None or body in (b"", ""):
        return None
    raw = body.encode("utf-8") if isinstance(body, str) else body
    try:
        return _normalise(json.loads(raw))
    except (ValueError, UnicodeDecodeError, TypeError):
        return raw


MULTIPART_BOUNDARY = re.compile(r"multipart/form-data;.*boundary=([^;\s]+)")


def _without_boundary(request: Any) -> Any:
    """A multipart body (a file upload) with its random boundary replaced by a fixed one."""
    headers = {str(k).lower(): v for k, v in (request.headers or {}).items()}
    kind = headers.get("content-type", "")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    found = MULTIPART_BOUNDARY.search(str(kind))
    body = request.body
    if not found or not body:
        return body
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return raw.replace(found.group(1).strip('"').encode(), b"BOUNDARY")


def json_body_matcher(recorded: Any, incoming: Any) -> None:
    """vcrpy matcher: bodies equal as JSON, whatever key order, spacing, descriptions' indent;
    multipart uploads equal whatever their boundary."""
    left = parsed_body(_without_boundary(recorded))
    right = parsed_body(_without_boundary(incoming))
    assert left == right, f"request bodies differ: {left!r} != {right!r}"


MATCH_ON = ("method", "path", "query", "json_body")


def vcr_config(server_url: str | None) -> dict[str, Any]:
    """The vcrpy options every cassette in this project is recorded and replayed with."""
    scrubber = Scrubber(server_url)
    return {
        "match_on": MATCH_ON,
        "decode_compressed_response": True,
        "before_record_request": scrubber.request,
        "before_record_response": scrubber.response,
        "record_on_exception": False,
    }


# --- existing cassette files -------------------------------------------------------------------


def scrub_cassette(path: Path, scrubber: Scrubber | None = None) -> bool:
    """Scrub one YAML cassette file in place; True when it changed."""
    from vcr.serialize import deserialize, serialize
    from vcr.serializers import yamlserializer

    scrubber = scrubber or Scrubber()
    original = path.read_text()
    requests, responses = deserialize(original, yamlserializer)
    updated = serialize(
        {
            "requests": [scrubber.request(request) for request in requests],
            "responses": [scrubber.response(response) for response in responses],
        },
        yamlserializer,
    )
    if updated == original:
        return False
    path.write_text(updated)
    return True


def scrub_tree(paths: Iterable[Path]) -> list[Path]:
    """Scrub every cassette under the given files or directories; return those changed."""
    changed = []
    for root in paths:
        files = [root] if root.is_file() else sorted(root.rglob("*.yaml"))
        changed += [path for path in files if scrub_cassette(path)]
    return changed


if __name__ == "__main__":
    targets = [Path(arg) for arg in sys.argv[1:]] or [Path(__file__).parents[1] / "cassettes"]
    for changed_path in scrub_tree(targets):
        print(f"scrubbed {changed_path}")
