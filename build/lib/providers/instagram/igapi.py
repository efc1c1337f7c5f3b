"""RapidAPI "igdata" (IGApi): mobile-family payloads in a ``data`` envelope.

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile: ``GET {base}/v1/info?username_or_id_or_url=h`` -> ``{"data": {...mobile user...}}``
  (``id``, ``follower_count``, ``following_count``, ``media_count``, ``account_type``...)
* posts:   ``GET {base}/v1/posts?username_or_id_or_url=pk&pagination_token=c`` ->
  ``{"data": {"count": n, "items": [...mobile media...]}, "pagination_token": "..." | null}``

Errors: the shared RapidAPI mapping; this API answers FastAPI-style ``{"detail": "..."}``.
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
    opt_str,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    mobile_items,
    mobile_profile,
)

__all__ = ["RAPIDAPI_HOST", "IgApi"]

RAPIDAPI_HOST = "igdata.p.rapidapi.com"


class IgApi(RapidApiProvider):
    name: ClassVar[str] = "igapi"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("v1/info", "username_or_id_or_url")
    posts_endpoint: ClassVar[Endpoint] = Endpoint(
        "v1/posts", "username_or_id_or_url", cursor="pagination_token"
    )

    # -- parsers ------------------------------------------------------------------------------

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        data = field_dict(self._payload(raw), "data", "body")
        return mobile_profile(data, "data"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        payload = self._payload(raw)
        posts = mobile_items(field_dict(payload, "data", "body"), "data")
        return posts, opt_str(payload, "pagination_token", "body") or None
