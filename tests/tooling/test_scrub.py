"""The cassette scrubber removes every secret and the recording host; the matcher compares JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from vcr.request import Request

import vcr_support

SERVER = "http://127.0.0.1:43117"
UPSTREAM = "http://127.0.0.1:50999"
# Canaries built at run time, so no tracked file holds a real-looking key or token.
KEY = "sk-" + "1f2e3d4c5b6a7988" * 2
JWT = "eyJhbGci" + "OiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImFiYyJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
EMAIL = "admin@example.com"
SECRETS = (KEY, JWT, EMAIL, "127.0.0.1", "session=abc", "opaque-token")


def recorded_request() -> Request:
    body = {"model": "stub-gpt", "user": EMAIL, "messages": [{"role": "user", "content": KEY}]}
    return Request(
        "POST",
        f"{SERVER}/api/chat/completions?token={JWT}",
        json.dumps(body).encode(),
        {
            "Authorization": f"Bearer {KEY}",
            "x-api-key": KEY,
            "Cookie": "token=abc; session=abc",
            "Host": SERVER.removeprefix("http://"),
            "Content-Type": "application/json",
        },
    )


def recorded_response(body: bytes, **headers: list[str]) -> dict[str, Any]:
    return {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "set-cookie": ["token=abc; session=abc; HttpOnly"],
            "date": ["Mon, 23 Nov 2026 08:00:00 GMT"],
            "x-process-time": ["0"],
            "location": [f"{SERVER}/auth"],
            "content-type": ["application/json"],
            **headers,
        },
        "body": {"string": body},
    }


SECRET_BODY = json.dumps(
    {
        "token": JWT,
        "api_key": KEY,
        "email": EMAIL,
        "error": f"Cannot connect to host 127.0.0.1:50999 ({UPSTREAM}/v1/chat/completions)",
        "url": f"{SERVER}/api/models",
        "echo": "Authorization: Bearer " + "opaque-token.12345678",
    }
).encode()


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_request_loses_key_token_email_cookie_and_host() -> None:
    request = vcr_support.Scrubber(SERVER).request(recorded_request())

    assert request.uri == f"{vcr_support.PLACEHOLDER_URL}/api/chat/completions?token=<jwt>"
    assert request.headers["Authorization"] == "Bearer sk-replay-0000"
    assert request.headers["x-api-key"] == "sk-replay-0000"
    assert request.headers["Host"] == "openwebui.test"
    assert "Cookie" not in request.headers
    assert json.loads(request.body) == {
        "model": "stub-gpt",
        "user": "<email>",
        "messages": [{"role": "user", "content": "sk-replay-0000"}],
    }
    assert_clean(repr(request._to_dict()))


def test_response_loses_cookies_tokens_emails_and_loopback_urls() -> None:
    response = vcr_support.Scrubber(SERVER).response(recorded_response(SECRET_BODY))

    headers = {name.lower() for name in response["headers"]}
    assert headers.isdisjoint({"set-cookie", "date", "x-process-time"})
    assert response["headers"]["location"] == ["http://openwebui.test/auth"]
    body = json.loads(response["body"]["string"])
    assert body == {
        "token": "<jwt>",
        "api_key": "sk-replay-0000",
        "email": "<email>",
        "error": "Cannot connect to host upstream.test (http://upstream.test/v1/chat/completions)",
        "url": "http://openwebui.test/api/models",
        "echo": "Authorization: Bearer sk-replay-0000",
    }
    assert_clean(repr(response))


def test_scrubbing_leaves_the_original_response_untouched() -> None:
    original = recorded_response(SECRET_BODY)
    vcr_support.Scrubber(SERVER).response(original)
    assert original["body"]["string"] == SECRET_BODY
    assert "set-cookie" in original["headers"]


def test_zstd_body_is_decoded_before_scrubbing() -> None:
    zstandard = pytest.importorskip("zstandard")
    compressed = zstandard.ZstdCompressor().compress(SECRET_BODY)
    response = recorded_response(
        compressed, **{"content-encoding": ["zstd"], "content-length": [str(len(compressed))]}
    )

    clean = vcr_support.Scrubber(SERVER).response(response)

    assert "content-encoding" not in clean["headers"]
    assert json.loads(clean["body"]["string"])["api_key"] == "sk-replay-0000"
    assert clean["headers"]["content-length"] == [str(len(clean["body"]["string"]))]


def test_binary_body_is_kept_as_is() -> None:
    binary = b"\xff\xfe\x00binary"
    assert vcr_support.Scrubber(SERVER).body(binary) == binary


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ('{"model": "m", "stream": true}', b'{"stream":true,"model":"m"}'),
        ('{"model": "m", "id": "chatcmpl-1", "created": 1}', '{"model": "m", "id": "x"}'),
        (None, b""),
    ],
)
def test_json_body_matcher_ignores_order_spacing_and_volatile_fields(left: Any, right: Any) -> None:
    vcr_support.json_body_matcher(
        Request("POST", "http://a/x", left, {}), Request("POST", "http://a/x", right, {})
    )


def test_json_body_matcher_tells_different_bodies_apart() -> None:
    with pytest.raises(AssertionError, match="request bodies differ"):
        vcr_support.json_body_matcher(
            Request("POST", "http://a/x", '{"model": "a"}', {}),
            Request("POST", "http://a/x", '{"model": "b"}', {}),
        )


SSE = (
    b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n'
    b'data: {"choices": [{"delta": {"content": "lo"}}]}\n\n'
    b"data: [DONE]\n\n"
)


def fake_server(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/models":
        return httpx.Response(200, json={"data": [{"id": "stub-gpt", "owner": EMAIL}]})
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "set-cookie": "token=" + JWT},
        content=SSE,
    )


def exchange(record_mode: str, cassette: Path) -> list[str]:
    """Chat (streamed) and list models through a cassette; return what the client read."""
    recorder = vcr.VCR(record_mode=record_mode)
    recorder.register_matcher("json_body", vcr_support.json_body_matcher)
    with (
        recorder.use_cassette(str(cassette), **vcr_support.vcr_config(SERVER)),
        httpx.Client(base_url=SERVER, transport=httpx.MockTransport(fake_server)) as client,
    ):
        headers = {"Authorization": f"Bearer {KEY}"}
        body = {
            "model": "stub-gpt",
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
        with client.stream("POST", "/api/chat/completions", json=body, headers=headers) as reply:
            lines = list(reply.iter_lines())
        lines.append(client.get("/api/models", headers=headers).text)
    return lines


def test_recorded_stream_replays_line_by_line_without_secrets(tmp_path: Path) -> None:
    cassette = tmp_path / "chat.yaml"
    recorded = exchange("all", cassette)

    text = cassette.read_text()
    assert_clean(text)
    assert "http://openwebui.test/api/chat/completions" in text
    assert exchange("none", cassette) == [*recorded[:-1], recorded[-1].replace(EMAIL, "<email>")]


def test_scrub_cassette_rewrites_an_unscrubbed_file(tmp_path: Path) -> None:
    cassette = tmp_path / "old.yaml"
    exchange("all", cassette)
    unscrubbed = cassette.read_text().replace("sk-replay-0000", KEY)
    cassette.write_text(unscrubbed.replace("<email>", EMAIL))

    assert vcr_support.scrub_tree([tmp_path]) == [cassette]
    assert_clean(cassette.read_text())
    assert vcr_support.scrub_tree([tmp_path]) == []


def test_the_recording_machines_upload_directory_becomes_the_servers_own() -> None:
    text = '{"path":"/tmp/ci/stack/run/data/uploads/1_zebra.txt","other":"/tmp/x"}'
    scrubbed = vcr_support.Scrubber().text(text)
    assert scrubbed == '{"path":"/app/backend/data/uploads/1_zebra.txt","other":"/tmp/x"}'
