"""What every platform's parsers are built from: strict JSON accessors and the parse guard.

Parsers are pure: they take a ``RawResponse`` and return model objects or raise a
``ProviderError`` subclass. The accessors raise ``MalformedResponse`` naming the path of what
was wrong; ``guard`` runs a parser and makes sure nothing but a ``ProviderError`` escapes, with
the provider and HTTP status stamped on it. Instagram, YouTube and Shopify parsers all use them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from providers.errors import MalformedResponse, ProviderError
from providers.http import RawResponse

__all__ = [
    "ErrorMapping",
    "checked_json",
    "checked_object",
    "edge_count",
    "expect_dict",
    "field_dict",
    "from_epoch",
    "from_iso",
    "guard",
    "load_json",
    "opt_bool",
    "opt_count",
    "opt_dict",
    "opt_id",
    "opt_list",
    "opt_str",
    "req_id",
    "req_str",
    "to_int",
    "try_json",
]

T = TypeVar("T")

#: A provider's reading of an answer: the error it stands for, or None when it is a success.
#: Gets the decoded body, or None when the body is not JSON.
ErrorMapping = Callable[[RawResponse, Any], ProviderError | None]

# --------------------------------------------------------------------------- JSON accessors


def _malformed(where: str, what: str) -> MalformedResponse:
    return MalformedResponse(f"{where}: {what}")


def try_json(raw: RawResponse) -> Any | None:
    """The decoded body, or None when it is not JSON at all (never raises)."""
    body = raw.body
    if not body or body.lstrip()[:1] in (b"<", b""):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def load_json(raw: RawResponse) -> Any:
    """Decode the body or raise MalformedResponse (HTML, empty, truncated, not UTF-8...)."""
    body = raw.body
    if not body.strip():
        raise MalformedResponse("empty body")
    head = body.lstrip()[:64].lower()
    if head.startswith(b"<"):
        raise MalformedResponse("HTML (or XML) where JSON was expected")
    try:
        return json.loads(body)
    except RecursionError:
        raise MalformedResponse("JSON nested too deeply") from None
    except ValueError as exc:
        raise MalformedResponse(f"body is not valid JSON ({type(exc).__name__})") from None


def expect_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(where, f"expected an object, got {type(value).__name__}")
    return value


def field_dict(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A required nested object."""
    if key not in obj or obj[key] is None:
        raise _malformed(where, f"missing object {key!r}")
    return expect_dict(obj[key], f"{where}.{key}")


def opt_dict(obj: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    return expect_dict(value, f"{where}.{key}")


def opt_list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(f"{where}.{key}", f"expected a list, got {type(value).__name__}")
    return value


def opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(f"{where}.{key}", f"expected a string, got {type(value).__name__}")
    return value


def req_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = opt_str(obj, key, where)
    if not value:
        raise _malformed(where, f"missing string {key!r}")
    return value


def opt_id(obj: dict[str, Any], key: str, where: str) -> str | None:
    """An identifier given as a string or an integer; returned as a string."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _malformed(f"{where}.{key}", "expected an id, got bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _malformed(f"{where}.{key}", f"expected an id, got {type(value).__name__}")


def req_id(obj: dict[str, Any], key: str, where: str) -> str:
    value = opt_id(obj, key, where)
    if value is None:
        raise _malformed(where, f"missing id {key!r}")
    return value


def to_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _malformed(where, "expected a number, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise _malformed(where, "expected an integer")
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.lstrip("-").isdigit() and len(text) <= 30:
            return int(text)
    raise _malformed(where, f"expected a number, got {type(value).__name__}")


def opt_count(obj: dict[str, Any], key: str, where: str) -> int | None:
    """A non-negative counter; negative values (hidden counts) become None."""
    value = to_int(obj.get(key), f"{where}.{key}")
    if value is None or value < 0:
        return None
    return value


def opt_bool(obj: dict[str, Any], key: str, where: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _malformed(f"{where}.{key}", f"expected a boolean, got {type(value).__name__}")


def edge_count(obj: dict[str, Any], key: str, where: str) -> int | None:
    """``obj[key]["count"]`` (GraphQL edge counters)."""
    edge = opt_dict(obj, key, where)
    if edge is None:
        return None
    return opt_count(edge, "count", f"{where}.{key}")


_MIN_TS = 0
_MAX_TS = 32503680000  # year 3000


def from_epoch(value: Any, where: str) -> datetime | None:
    seconds = to_int(value, where) if not isinstance(value, float) else value
    if seconds is None:
        return None
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise _malformed(where, "bad timestamp")
    if not _MIN_TS <= seconds <= _MAX_TS:
        raise _malformed(where, "timestamp out of range")
    return datetime.fromtimestamp(seconds, tz=UTC)


def from_iso(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(where, f"expected a timestamp string, got {type(value).__name__}")
    try:
        # Python 3.11's ISO parser takes Graph's "+0000" offsets too, at ~1/10 of strptime.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _malformed(where, "unparseable timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _malformed(where, "timestamp out of range") from None


def checked_json(raw: RawResponse, error: ErrorMapping) -> Any:
    """The decoded body of an answer ``error`` finds no error in (else that error is raised).
    The mapping sees the body first: an error page need not be valid JSON to mean something."""
    err = error(raw, try_json(raw))
    if err is not None:
        raise err
    return load_json(raw)


def checked_object(raw: RawResponse, error: ErrorMapping) -> dict[str, Any]:
    """``checked_json`` for the usual answer, a JSON object."""
    return expect_dict(checked_json(raw, error), "body")


# --------------------------------------------------------------------------- the guard

#: What a parser fed a body of an unexpected shape can stumble into (a bug in the parser, or a
#: value no accessor checked); whatever the cause, for the caller the answer is malformed.
_STRAY = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    ArithmeticError,
    RecursionError,
    OSError,
)


def guard(provider: str, raw: RawResponse, parse: Callable[[], T]) -> T:
    """Run a parser: stamp provider/status on its errors and turn stray exceptions into
    MalformedResponse, so only ProviderError subclasses (or the NotImplementedError of a fetch
    type the provider lacks) ever escape."""
    try:
        return parse()
    except ProviderError as err:
        if err.provider is None:
            err.provider = provider
        if err.status is None:
            err.status = raw.status
        raise
    except _STRAY as exc:
        raise MalformedResponse(
            f"unexpected payload shape (internal: {type(exc).__name__})",
            provider=provider,
            status=raw.status,
        ) from None
