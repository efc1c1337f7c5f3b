"""RapidAPI "insta-best-performance" (BestSolutions): Instagram's mobile API, passed through.

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.
Its plan allows 2 requests per second.

* profile: ``GET {base}/profile?username=h`` -> ``{"user": {...mobile user...}, "status": "ok"}``
  (``users/{username}/usernameinfo``)
* posts:   ``GET {base}/feed?user_id=pk&max_id=c`` -> ``feed/user/{pk}``:
  ``{"items": [...], "num_results", "more_available", "next_max_id", "status": "ok"}``

Errors: the shared RapidAPI mapping; Instagram's own ``{"message", "status": "fail"}`` bodies
come through (``"Not authorized to view user"`` for a private feed).
"""

from __future__ import annotations

from typing import ClassVar

from providers.http import RawResponse
from providers.instagram.base import (
    FETCH_POSTS,
    FETCH_PROFILE,
    PostsParse,
    ProfileParse,
    field_dict,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    mobile_items,
    mobile_next_max_id,
    mobile_profile,
)

__all__ = ["RAPIDAPI_HOST", "BestSolutions"]

RAPIDAPI_HOST = "insta-best-performance.p.rapidapi.com"


class BestSolutions(RapidApiProvider):
    name: ClassVar[str] = "bestsolutions"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("profile", "username")
    posts_endpoint: ClassVar[Endpoint] = Endpoint("feed", "user_id", cursor="max_id")

    # -- parsers ------------------------------------------------------------------------------

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        user = field_dict(self._payload(raw), "user", "body")
        return mobile_profile(user, "user"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        page = self._payload(raw)
        return mobile_items(page, "body"), mobile_next_max_id(page, "body")
