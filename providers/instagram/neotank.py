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

from typing import Any, ClassVar

from providers.credentials import Credential
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import (
    FETCH_POSTS,
    FETCH_PROFILE,
    InstagramProvider,
    PostsParse,
    ProfileParse,
    expect_dict,
    load_json,
    try_json,
)
from providers.instagram.rapidapi import (
    rapidapi_error,
    rapidapi_headers,
    web_profile,
    web_timeline,
)
from providers.model import InstagramProfile

__all__ = ["RAPIDAPI_HOST", "NeoTank"]

RAPIDAPI_HOST = "instagram130.p.rapidapi.com"
PAGE_SIZE = 12


class NeoTank(InstagramProvider):
    name: ClassVar[str] = "neotank"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests -----------------------------------------------------------------------------

    def _get(
        self, base_url: str, path: str, params: dict[str, str], credential: Credential
    ) -> ProviderRequest:
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/{path}",
            params=params,
            headers=rapidapi_headers(credential, self.name, RAPIDAPI_HOST),
        )

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._get(base_url, "account-info", {"username": handle}, credential)

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        params = {"userid": profile.profile_id, "first": str(PAGE_SIZE)}
        if cursor:
            params["after"] = cursor
        return self._get(base_url, "account-medias", params, credential)

    # -- parsers ------------------------------------------------------------------------------

    def _payload(self, raw: RawResponse) -> dict[str, Any]:
        err = rapidapi_error(raw, try_json(raw))
        if err is not None:
            raise err
        return expect_dict(load_json(raw), "body")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        return web_profile(self._payload(raw), "body"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        return web_timeline(self._payload(raw), "body")
