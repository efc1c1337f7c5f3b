"""The Instagram provider interface plus the strict JSON accessors parsers are built from.

A provider is a set of request builders and PURE parsers, one pair per fetch type:

* ``profile``: ``profile_request(handle, ...)`` / ``parse_profile(raw)``
* ``posts``: ``posts_request(profile, cursor, ...)`` / ``parse_posts(raw)``
* ``post``: ``post_request(shortcode, ...)`` / ``parse_post(raw)``
* ``followers``: ``followers_request(profile, cursor, ...)`` / ``parse_followers(raw)``

Parsers take a ``RawResponse`` and either return model objects or raise a ``ProviderError``
subclass; whatever the body holds, nothing else escapes (see ``_guard``). They never do I/O.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from providers.credentials import Credential
from providers.errors import BadInput, MalformedResponse, ProviderError
from providers.http import KIND_POST, KIND_POSTS_PAGE, KIND_PROFILE, ProviderRequest, RawResponse
from providers.model import InstagramFollower, InstagramPost, InstagramProfile

__all__ = [
    "FETCH_FOLLOWERS",
    "FETCH_POST",
    "FETCH_POSTS",
    "FETCH_PROFILE",
    "KIND_FOLLOWERS_PAGE",
    "FollowersParse",
    "InstagramProvider",
    "ProfileParse",
    "normalize_handle",
    "normalize_shortcode",
]

FETCH_PROFILE = "profile"
FETCH_POSTS = "posts"
FETCH_POST = "post"
FETCH_FOLLOWERS = "followers"

#: ``RawResponse.kind`` of a followers page (the other kinds live in ``providers.http``).
KIND_FOLLOWERS_PAGE = "followers_page"

ProfileParse = tuple[InstagramProfile, list[InstagramPost], str | None]
PostsParse = tuple[list[InstagramPost], str | None]
FollowersParse = tuple[list[InstagramFollower], str | None]

T = TypeVar("T")

_HANDLE = re.compile(r"^[a-z0-9._]{1,30}$")
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def normalize_handle(handle: str) -> str:
    """Lower-case, strip whitespace and a leading ``@``; BadInput if not a valid username."""
    if not isinstance(handle, str):
        raise BadInput("handle must be a string")
    value = handle.strip().lstrip("@").lower()
    if not _HANDLE.match(value):
        raise BadInput(f"invalid Instagram handle {value[:40]!r}")
    return value


def normalize_shortcode(shortcode: str) -> str:
    if not isinstance(shortcode, str):
        raise BadInput("shortcode must be a string")
    value = shortcode.strip()
    if not _SHORTCODE.match(value):
        raise BadInput(f"invalid shortcode {value[:40]!r}")
    return value


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
    parsed: datetime | None = None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _malformed(where, "unparseable timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _malformed(where, "timestamp out of range") from None


# --------------------------------------------------------------------------- the interface


class InstagramProvider(ABC):  # noqa: B024 - no abstract methods on purpose: fetch types are opt-in
    """Base class of the Instagram providers.

    ``supports`` lists the fetch types implemented (``profile``, ``posts``, ``post``,
    ``followers``). A provider that lacks one keeps the default methods, which raise
    ``NotImplementedError``.
    ``profile_includes_posts`` tells the crawler whether the profile answer already carries the
    first posts page (Graph) or posts need their own first request (RapidAPI).
    """

    name: ClassVar[str] = ""
    supports: ClassVar[frozenset[str]] = frozenset()
    profile_includes_posts: ClassVar[bool] = False

    # -- request builders (pure) ------------------------------------------------------------

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch profiles")

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch posts pages")

    def post_request(
        self, shortcode: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch posts by shortcode")

    def followers_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        """A page of the accounts following ``profile`` (providers key it by id or handle).
        ``cursor`` continues a listing on the provider that started it."""
        raise NotImplementedError(f"{self.name} does not fetch followers")

    # -- parsers (pure) -----------------------------------------------------------------------

    def parse_profile(self, raw: RawResponse) -> ProfileParse:
        """(profile, posts included in the answer, cursor of the next posts page or None)."""
        return self._guard(raw, self._parse_profile)

    def parse_posts(self, raw: RawResponse) -> PostsParse:
        """(posts, cursor of the next page or None)."""
        return self._guard(raw, self._parse_posts)

    def parse_post(self, raw: RawResponse) -> InstagramPost:
        return self._guard(raw, self._parse_post)

    def parse_followers(self, raw: RawResponse) -> FollowersParse:
        """(followers, cursor of the next page or None)."""
        return self._guard(raw, self._parse_followers)

    def parse(self, raw: RawResponse) -> ProfileParse | PostsParse | InstagramPost | FollowersParse:
        """Dispatch on ``raw.kind``."""
        if raw.kind == KIND_PROFILE:
            return self.parse_profile(raw)
        if raw.kind == KIND_POSTS_PAGE:
            return self.parse_posts(raw)
        if raw.kind == KIND_POST:
            return self.parse_post(raw)
        if raw.kind == KIND_FOLLOWERS_PAGE:
            return self.parse_followers(raw)
        raise ValueError(f"unknown raw response kind {raw.kind!r}")

    # -- hooks for subclasses -------------------------------------------------------------------

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        raise NotImplementedError(f"{self.name} does not fetch profiles")

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        raise NotImplementedError(f"{self.name} does not fetch posts pages")

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        raise NotImplementedError(f"{self.name} does not fetch posts by shortcode")

    def _parse_followers(self, raw: RawResponse) -> FollowersParse:
        raise NotImplementedError(f"{self.name} does not fetch followers")

    def _guard(self, raw: RawResponse, fn: Callable[[RawResponse], T]) -> T:
        """Run a parser; stamp provider/status on its errors; turn stray exceptions into
        MalformedResponse so nothing but ProviderError (or NotImplementedError) escapes."""
        try:
            return fn(raw)
        except ProviderError as err:
            if err.provider is None:
                err.provider = self.name
            if err.status is None:
                err.status = raw.status
            raise
        except NotImplementedError:
            raise
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            RecursionError,
            OverflowError,
            OSError,
        ) as exc:
            raise MalformedResponse(
                f"unexpected payload shape (internal: {type(exc).__name__})",
                provider=self.name,
                status=raw.status,
            ) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
