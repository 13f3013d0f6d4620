"""Config errors in one line each: which key, and what is wrong with it.

pydantic reports a location tuple and a message written for programmers; a studio
technician editing YAML needs `at 'watch[0].polling': ...` and, for a typo, the key
that was probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def _key_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(top level)"


def describe(error: Mapping[str, Any], fields: Mapping[str, type[BaseModel]]) -> str:
    """One pydantic error as a person reads it: the key path, and what is wrong; an
    unknown key gets the closest known one of its section (`fields`: section -> model)."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        section = str(loc[0]) if len(loc) > 1 else ""
        model = fields.get(section)
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"at '{_key_path(loc)}': unknown key{hint}"
    if kind == "missing":
        return f"at '{_key_path(loc)}': required"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind.endswith(("_type", "_parsing")):
        message += f", got {error.get('input')!r}"
    return f"at '{_key_path(loc)}': {message[0].lower()}{message[1:]}"
