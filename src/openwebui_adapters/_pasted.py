"""What people paste, read as they meant it: page addresses, credentials in URLs, keys, JWTs.

Pure functions without I/O; `settings` uses them to normalise, the doctor and the client to warn.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from urllib.parse import unquote

__all__ = [
    "describe_session_token",
    "frontend_route_start",
    "key_problem",
    "mask_for_display",
    "mask_userinfo",
    "session_token_claims",
    "split_userinfo",
    "strip_pasted",
]

# Typographic quotes, spaces, non-breaking and zero-width characters that word processors and
# chat apps wrap around a copied value.
_PASTE_JUNK = (
    " \t\r\n\v\f"
    "\"'`"
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u300c\u300d"
)
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"

# The web UI's own pages (open-webui `src/routes`): a first segment that roots a tree of pages,
# and pages that take exactly one id (`/c/<chat id>`, `/s/<share id>`). Pasting the browser's
# address bar on any of them means the server at the segment's parent.
_PAGE_TREES = frozenset(
    {
        "workspace",
        "admin",
        "auth",
        "notes",
        "channels",
        "playground",
        "home",
        "docs",
        "error",
        "watch",
    }
)
_PAGES_WITH_ID = frozenset({"c", "s"})


def strip_pasted(text: str) -> str:
    """`text` without the quotes, spaces and invisible characters a copy picked up around it."""
    return text.strip(_PASTE_JUNK)


def frontend_route_start(segments: list[str]) -> int | None:
    """Index of the first segment where a web UI page address begins, or None.

    `["webui", "c", "<id>"]` -> 1; `["workspace", "models"]` -> 0. A page taking an id matches
    only with exactly its id after it, so a sub-path named `c` or `s` is kept.
    """
    for index, segment in enumerate(segments):
        name = segment.lower()
        rest = len(segments) - index - 1
        if name in _PAGE_TREES or (name in _PAGES_WITH_ID and rest == 1):
            return index
    return None


def _userinfo_span(text: str) -> tuple[int, int] | None:
    """Where `user:password` sits in `text` (before the last `@` of the authority), or None."""
    start = text.find("://")
    start = 0 if start < 0 else start + 3
    end = min((i for i in (text.find(sep, start) for sep in "/?#") if i >= 0), default=len(text))
    at = text.rfind("@", start, end)
    return None if at < 0 else (start, at)


def mask_userinfo(text: str) -> str:
    """`text` with any `user:password@` before the host replaced by `***@`."""
    span = _userinfo_span(text)
    return text if span is None else text[: span[0]] + "***" + text[span[1] :]


def mask_for_display(text: str) -> str:
    """`text` with everything from the host's start to its last `@` masked: what to quote of a
    URL that may hold a password with a `/`, `?` or `#` in it."""
    start = text.find("://")
    start = 0 if start < 0 else start + 3
    at = text.rfind("@", start)
    return text if at < 0 else text[:start] + "***" + text[at:]


def split_userinfo(text: str) -> tuple[str, tuple[str, str] | None]:
    """`text` without `user:password@`, and the (percent-decoded) user and password if any."""
    span = _userinfo_span(text)
    if span is None:
        return text, None
    user, _, password = text[span[0] : span[1]].partition(":")
    return text[: span[0]] + text[span[1] + 1 :], (unquote(user), unquote(password))


def key_problem(key: str) -> str | None:
    """Why `key` cannot be an API key or token (never quoting it), or None if it can."""
    for position, char in enumerate(key, start=1):
        if not ("!" <= char <= "~"):
            if char.isspace():
                what = "a space or line break"
            elif char in _INVISIBLE:
                what = "an invisible character"
            else:
                what = "a character that cannot be in a key"
            return f"contains {what} (U+{ord(char):04X}) at position {position}"
    return None


def _b64_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def session_token_claims(key: str) -> dict[str, object] | None:
    """The claims of `key` if it is a JWT (a browser session token), else None. Not verified."""
    parts = key.split(".")
    if len(parts) != 3 or not key.startswith("eyJ"):
        return None
    try:
        header, claims = _b64_json(parts[0]), _b64_json(parts[1])
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return claims


def describe_session_token(key: str, *, now: float | None = None) -> str | None:
    """A warning if `key` is a session token (JWT) rather than an API key, else None."""
    claims = session_token_claims(key)
    if claims is None:
        return None
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        current = time.time() if now is None else now
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exp))
        left = exp - current
        if left <= 0:
            expiry = f"it expired at {when}"
        else:
            expiry = f"it expires at {when} (in {_duration(left)}) or when you sign out"
    else:
        expiry = "it has no expiry time but stops working when you sign out"
    return (
        "OPENWEBUI_API_KEY holds a session token (JWT) from the browser, not an API key: "
        f"{expiry}. Create an API key in Open WebUI under Settings > Account > API keys "
        "and set OPENWEBUI_API_KEY to it"
    )


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"
