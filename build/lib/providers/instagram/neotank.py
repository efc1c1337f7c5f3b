"""RapidAPI "instagram130" (NeoTank): web-family payloads without wrappers.

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile: ``GET {base}/account-info?username=h`` -> the web user object itself (``id``,
  ``edge_followed_by.count``, ``edge_follow.count``, ``edge_owner_to_timeline_media.count``,
  ``is_business_account``...), without posts
* posts:   ``GET {base}/account-medias?userid=pk&first=12&after=c`` -> the bare timeline
  connection ``{"count", "page_info": {"has_next_page", "end_cursor"}, "edges": [...]}``

Errors: the shared RapidAPI mapping; NeoTank words them as ``{"message": "..."}``.
"""

from __future__ import annotations

from typing import ClassVar

from providers.http import RawResponse
from providers.instagram.base import (
    FETCH_POSTS,
    FETCH_PROFILE,
    PostsParse,
    ProfileParse,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    web_profile,
    web_timeline,
)

__all__ = ["RAPIDAPI_HOST", "NeoTank"]

RAPIDAPI_HOST = "instagram130.p.rapidapi.com"
PAGE_SIZE = 12


class NeoTank(RapidApiProvider):
    name: ClassVar[str] = "neotank"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("account-info", "username")
    posts_endpoint: ClassVar[Endpoint] = Endpoint(
        "account-medias", "userid", cursor="after", fixed={"first": str(PAGE_SIZE)}
    )

    # -- parsers ------------------------------------------------------------------------------

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        return web_profile(self._payload(raw), "body"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        return web_timeline(self._payload(raw), "body")
