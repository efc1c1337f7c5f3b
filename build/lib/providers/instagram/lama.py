"""Lama (``api.lamadava.com``): instagrapi's models over HTTP, mobile-family names.

The credential secret IS the headers dict: ``{"x-access-key": ...}``.

* profile: ``GET {base}/v1/user/by/username?username=h`` -> instagrapi ``User``
  (``pk``, ``follower_count``, ``following_count``, ``media_count``, ``account_type``...)
* posts:   ``GET {base}/v1/user/medias/chunk?user_id=pk&end_cursor=c`` -> a two-item list
  ``[[...Media...], "next end_cursor" | null]``
* post:    ``GET {base}/v1/media/by/code?code=s`` -> instagrapi ``Media`` (``code``,
  ``media_type`` 1/2/8, ``taken_at`` in ISO 8601, ``caption_text``, ``thumbnail_url``)

Errors are FastAPI's ``{"detail": "...", "exc_type": "UserNotFound"}``: the instagrapi exception
name says whether it is about the target (not found, private) or Lama's own Instagram sessions
(throttled, challenged: the provider's fault). 402 means the account ran out of paid requests.
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse
from providers.instagram.base import (
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    PostsParse,
    ProfileParse,
    expect_dict,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    error_message,
    header_secret,
    mobile_post,
    mobile_profile,
    rapidapi_error,
    wait_seconds,
)
from providers.model import InstagramPost

__all__ = ["Lama", "lama_error"]

_NOT_FOUND_TYPES = frozenset({"UserNotFound", "MediaNotFound", "NotFoundError"})
_PRIVATE_TYPES = frozenset({"PrivateError", "PrivateAccount"})
# Lama's own Instagram sessions got throttled or challenged: nothing wrong with our key.
_SESSION_TYPES = frozenset(
    {"ClientThrottledError", "PleaseWaitFewMinutes", "ChallengeRequired", "LoginRequired"}
)


def _exc_type(payload: Any) -> str:
    value = payload.get("exc_type") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else ""


def lama_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map an answer to an error, or None when it looks like a success."""
    status = raw.status
    text = error_message(payload) or f"HTTP {status}"
    exc_type = _exc_type(payload)
    if status == 429:
        return RateLimited(text, status=status, retry_after=wait_seconds(raw))
    if status < 500 and exc_type in _NOT_FOUND_TYPES:
        return TargetNotFound(text, status=status)
    if status < 500 and exc_type in _PRIVATE_TYPES:
        return TargetPrivate(text, status=status)
    if exc_type in _SESSION_TYPES:
        return ProviderUnavailable(f"{exc_type}: {text}", status=status)
    if status == 402:
        return CredentialRejected(text, status=status)
    return rapidapi_error(raw, payload)


class Lama(RapidApiProvider):
    name: ClassVar[str] = "lama"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS, FETCH_POST})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("v1/user/by/username", "username")
    posts_endpoint: ClassVar[Endpoint] = Endpoint(
        "v1/user/medias/chunk", "user_id", cursor="end_cursor"
    )
    post_endpoint: ClassVar[Endpoint] = Endpoint("v1/media/by/code", "code")

    def _headers(self, credential: Credential) -> dict[str, str]:
        return header_secret(credential, self.name, "x-access-key")

    # -- parsers ------------------------------------------------------------------------------

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        return lama_error(raw, payload)

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        return mobile_profile(self._payload(raw), "body"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        chunk = self._body(raw)
        if not isinstance(chunk, list) or len(chunk) != 2 or not isinstance(chunk[0], list):
            raise MalformedResponse("body: expected [medias, end_cursor]")
        medias, cursor = chunk
        if cursor is not None and not isinstance(cursor, str):
            raise MalformedResponse("body[1]: expected a cursor string or null")
        posts = [
            mobile_post(expect_dict(item, f"body[0][{i}]"), f"body[0][{i}]")
            for i, item in enumerate(medias)
        ]
        return posts, cursor or None

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        return mobile_post(self._payload(raw), "body")
