"""Reading a JSON request body that may be hostile: every way it can be wrong is a 400 with a
message, decided before anything is written.

Python's json module raises RecursionError on deep nesting and ValueError on integers past
4300 digits, accepts NaN and Infinity, NUL characters and lone surrogates: each of those would
otherwise surface later as a 500 (PostgreSQL refuses NUL in text and jsonb, NaN in jsonb, and
lone surrogates cannot be encoded).
"""

from __future__ import annotations

import json
from typing import Any

from beat.intake.envelope import BadRequest

#: Deeper than any params model goes, far below where the parser would recurse out.
MAX_JSON_DEPTH = 32
#: int64: what the columns, PostgreSQL's bigint and the Go consumers hold.
MAX_INT_DIGITS = 19
_INT64 = 2**63


def parse_json_body(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    brackets = text.count("[") + text.count("{")
    if brackets > MAX_JSON_DEPTH and _nesting_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_int=_parse_int, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    check_strings(value)
    return value


def check_strings(value: Any, where: str = "body") -> None:
    """Refuse NUL characters and lone surrogates anywhere in keys or string values."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            _check_string(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_string(key, f"{path} key")
                stack.append((f"{path}.{key}"[:120], child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))


def _check_string(text: str, path: str) -> None:
    if "\x00" in text:
        raise BadRequest(f"{path}: NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{path}: contains an unpaired surrogate (\\ud800-\\udfff)") from None


def _nesting_depth(text: str) -> int:
    """The deepest [ / { nesting, ignoring brackets inside strings; stops counting early."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _parse_int(literal: str) -> int:
    digits = literal.lstrip("-")
    if len(digits) > MAX_INT_DIGITS or not -_INT64 <= int(literal) < _INT64:
        raise BadRequest(f"integer {literal[:24]}... does not fit in 64 bits")
    return int(literal)


def _refuse_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number")
