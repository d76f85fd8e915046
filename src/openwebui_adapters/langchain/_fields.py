"""Constructor helpers shared by the chat model and the embeddings."""

from __future__ import annotations

import warnings
from typing import Any

from langchain_core.utils import get_pydantic_field_names
from pydantic import BaseModel


def collect_model_kwargs(cls: type[BaseModel], values: Any) -> Any:
    """Move constructor arguments that are not fields into `model_kwargs` (sent in the body)."""
    if not isinstance(values, dict):
        return values
    known = get_pydantic_field_names(cls)
    extra = {name: values.pop(name) for name in list(values) if name not in known}
    if extra:
        warnings.warn(
            f"{cls.__name__} has no field {', '.join(sorted(extra))}: sent in the request body "
            "as model_kwargs (pass model_kwargs={...} to silence this warning)",
            stacklevel=4,
        )
        values["model_kwargs"] = {**(values.get("model_kwargs") or {}), **extra}
    return values
