"""Knowledge bases named as a person writes them, and a chat's `files=` as Open WebUI's items.

Pure functions over the knowledge list known so far; when it cannot decide (no list yet, or a
name the cached one lacks) it raises `NeedList` and the caller fetches the list once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from openwebui_adapters._catalog import ModelInfo, suggest
from openwebui_adapters.errors import ConfigurationError, KnowledgeError, KnowledgeNotFoundError

from ._failures import KNOWLEDGE_SETTING
from ._records import FilesArg, KnowledgeBase, KnowledgeRef, UploadedFile

__all__ = [
    "FILES_SETTING",
    "NeedList",
    "existing_knowledge",
    "file_items",
    "match_knowledge",
    "resolve_ref",
    "suggest_knowledge",
]

FILES_SETTING = "files"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _folded(text: str) -> str:
    """Case, spacing and punctuation dropped: "team-handbook " and "Team Handbook" agree."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def match_knowledge(ref: str, bases: Sequence[KnowledgeBase]) -> KnowledgeBase | None:
    """The base `ref` names, or None. Tried in order: the id, the exact name, the name without
    case, spacing and punctuation differences. Two bases of that name raise KnowledgeError."""
    ref = ref.strip()
    for base in bases:
        if base.id == ref:
            return base
    for key in (lambda text: text, lambda text: " ".join(text.casefold().split()), _folded):
        wanted = key(ref)
        found = [base for base in bases if key(base.name) == wanted]
        if len(found) == 1:
            return found[0]
        if found:
            raise _ambiguous(ref, found)
    return None


def existing_knowledge(name: str, bases: Sequence[KnowledgeBase]) -> KnowledgeBase | None:
    """The one base named exactly `name` (what `create_knowledge(exist_ok=True)` returns instead
    of a second one), or None; several of that name raise KnowledgeError."""
    found = [base for base in bases if base.name == name]
    if len(found) > 1:
        raise _ambiguous(name, found)
    return found[0] if found else None


def _ambiguous(ref: str, found: Sequence[KnowledgeBase]) -> KnowledgeError:
    return KnowledgeError(
        f"{len(found)} knowledge bases are named {ref!r}: " + ", ".join(b.id for b in found),
        setting=KNOWLEDGE_SETTING,
        hint="pass the id of the one you mean",
    )


def suggest_knowledge(ref: str, bases: Sequence[KnowledgeBase], limit: int = 5) -> list[str]:
    """The names closest to `ref`, best first (the model list's fuzzy matching)."""
    by_id = {base.id: base.name for base in bases}
    entries = [ModelInfo(id=b.id, name=b.name, backend="knowledge") for b in bases]
    names = [by_id[found] for found in suggest(ref, entries, limit=limit * 2)]
    return list(dict.fromkeys(names))[:limit]


def _not_found(ref: str, bases: Sequence[KnowledgeBase], setting: str) -> KnowledgeNotFoundError:
    if not bases:
        return KnowledgeNotFoundError(
            f"Open WebUI has no knowledge base {ref!r}: this key's user sees none",
            knowledge=ref,
            setting=setting,
            hint="create one (`create_knowledge(...)`), or ask its owner to share it with you",
        )
    return KnowledgeNotFoundError(
        f"Open WebUI has no knowledge base {ref!r}",
        knowledge=ref,
        setting=setting,
        suggestions=suggest_knowledge(ref, bases),
    )


class NeedList(Exception):
    """A reference cannot be decided from the cached list (none yet, or a name it lacks)."""


def resolve_ref(
    ref: KnowledgeRef, bases: Sequence[KnowledgeBase] | None, *, fresh: bool, setting: str
) -> KnowledgeBase:
    if isinstance(ref, KnowledgeBase):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise ConfigurationError(
            f"A knowledge base is named by its id or name, not {ref!r}",
            setting=setting,
            hint="pass an id, a name, or a KnowledgeBase from list_knowledge()",
        )
    if bases is None:
        raise NeedList
    found = match_knowledge(ref, bases)
    if found is not None:
        return found
    if not fresh:
        raise NeedList
    raise _not_found(ref.strip(), bases, setting)


def _file_item(ref: Any, bases: Sequence[KnowledgeBase] | None, *, fresh: bool) -> dict[str, Any]:
    if isinstance(ref, UploadedFile):
        return {"type": "file", "id": ref.id}
    if isinstance(ref, KnowledgeBase):
        return {"type": "collection", "id": ref.id}
    if isinstance(ref, Mapping):
        if not isinstance(ref.get("type"), str) or not ref["type"]:
            # The server skips an item without a type in silence: the answer has no sources.
            raise ConfigurationError(
                f"A files item needs a 'type' ('file', 'collection', ...): {dict(ref)!r}",
                setting=FILES_SETTING,
                hint='pass {"type": "file", "id": ...} or {"type": "collection", "id": ...}',
            )
        return dict(ref)  # Open WebUI's own item: sent as given (its types keep growing)
    if isinstance(ref, str) and ref.strip():
        text = ref.strip()
        if bases is None:
            raise NeedList
        found = match_knowledge(text, bases)
        if found is not None:
            return {"type": "collection", "id": found.id}
        if _UUID.fullmatch(text):
            return {"type": "file", "id": text}  # not a knowledge base: a file's id
        if not fresh:
            raise NeedList
        raise _not_found(text, bases, FILES_SETTING)
    raise ConfigurationError(
        f"files= takes file ids, knowledge base ids or names, and Open WebUI items, not {ref!r}",
        setting=FILES_SETTING,
        hint="pass e.g. files=['Team Handbook', '<file id>', {'type': 'file', 'id': ...}]",
    )


def file_items(
    files: FilesArg, bases: Sequence[KnowledgeBase] | None = None, *, fresh: bool = True
) -> list[dict[str, Any]]:
    """A chat's `files=` argument as Open WebUI's `files` items.

    `files` is one reference or a list of them:
    - a mapping is an Open WebUI item (`{"type": "file"|"collection"|..., "id": ...}`, perhaps
      with `"context": "full"`) and is sent as given;
    - an `UploadedFile` is `{"type": "file"}`, a `KnowledgeBase` `{"type": "collection"}`;
    - a string is a knowledge base's id or name (as `match_knowledge` reads it), else, when it
      is a UUID, a file's id; anything else raises KnowledgeNotFoundError with suggestions.

    `bases` is the knowledge list known so far (None: not fetched). Only strings need it; with
    `fresh=False` a string it cannot decide raises `NeedList` so the caller fetches it once.
    """
    if files is None:
        return []
    refs: Sequence[Any] = (
        [files] if isinstance(files, (str, Mapping, UploadedFile, KnowledgeBase)) else files
    )
    if not isinstance(refs, Sequence):
        raise ConfigurationError(
            f"files= takes a list, not {type(files).__name__}",
            setting=FILES_SETTING,
            hint="pass files=[...] (file ids, knowledge base names or ids, or Open WebUI items)",
        )
    return [_file_item(ref, bases, fresh=fresh) for ref in refs]
