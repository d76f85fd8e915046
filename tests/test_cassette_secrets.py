"""No cassette may hold a secret or the address it was recorded from.

These patterns are written independently of the scrubber's, so a gap in one is caught by the other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"

FORBIDDEN = {
    "an API key other than sk-replay-0000": re.compile(r"\bsk-(?!replay-0000\b)[\w-]{8,}"),
    "a JWT": re.compile(r"\beyJ[\w-]+\.[\w-]+"),
    "a bearer token other than the placeholder": re.compile(
        r"Bearer\s+(?!sk-replay-0000\b|<jwt>)[^\s'\",]{8,}", re.IGNORECASE
    ),
    "an email address": re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"),
    "a loopback URL": re.compile(
        r"https?://(?:127\.\d+\.\d+\.\d+|localhost|0\.0\.0\.0|\[::1\])"
        r"|\b(?:127\.0\.0\.1|localhost):\d+",
        re.IGNORECASE,
    ),
    "the recording machine's upload directory": re.compile(
        r'"path"\s*:\s*"(?!/app/backend/data/)[^"]*/uploads/'
    ),
    "a cookie header": re.compile(r"^\s*-?\s*['\"]?(?:set-)?cookie['\"]?\s*:", re.I | re.M),
}


def cassette_files() -> list[Path]:
    return sorted(path for path in CASSETTES.rglob("*") if path.is_file())


def findings(text: str) -> list[str]:
    found = []
    for line_number, line in enumerate(text.splitlines(), 1):
        for what, pattern in FORBIDDEN.items():
            match = pattern.search(line)
            if match:
                found.append(f"line {line_number}: {what}: {match.group(0)[:40]!r}")
    return found


@pytest.mark.parametrize(
    "path", cassette_files(), ids=lambda path: str(path.relative_to(CASSETTES))
)
def test_cassette_holds_no_secret(path: Path) -> None:
    found = findings(path.read_text(errors="replace"))
    assert not found, f"{path}: run `python tests/vcr_support.py {path}`\n" + "\n".join(found)


@pytest.mark.parametrize(
    "leak",
    [
        "authorization: Bearer sk-9a8b7c6d5e4f",
        "token: eyJhbGci" + "OiJIUzI1NiJ9.eyJpZCI6IjEifQ.sig",
        "- Bearer abc.def.ghi",
        '"email": "someone@example.org"',
        "uri: http://127.0.0.1:8080/api/models",
        "error: Cannot connect to localhost:11434",
        "      set-cookie:",
        "  Cookie: token=x",
        '{"path":"/home/ci/stack/run/data/uploads/1_zebra.txt"}',
    ],
)
def test_each_kind_of_leak_is_caught(leak: str) -> None:
    assert findings(leak)


def test_placeholders_are_allowed() -> None:
    clean = (
        "authorization:\n- Bearer sk-replay-0000\nuri: http://openwebui.test/api/models\n"
        "body: 'task-runner sk-learn Bearer token <email> <jwt> http://upstream.test/v1 upstream.test'"
        '\n{"path": "/app/backend/data/uploads/1_zebra.txt"}'
    )
    assert findings(clean) == []
