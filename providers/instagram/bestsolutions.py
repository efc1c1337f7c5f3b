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

from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import MalformedResponse
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import (
    FETCH_POSTS,
    FETCH_PROFILE,
    InstagramProvider,
    PostsParse,
    ProfileParse,
    expect_dict,
    field_dict,
    load_json,
    opt_list,
    try_json,
)
from providers.instagram.rapidapi import (
    mobile_next_max_id,
    mobile_post,
    mobile_profile,
    rapidapi_error,
    rapidapi_headers,
)
from providers.model import InstagramProfile

__all__ = ["RAPIDAPI_HOST", "BestSolutions"]

RAPIDAPI_HOST = "insta-best-performance.p.rapidapi.com"


class BestSolutions(InstagramProvider):
    name: ClassVar[str] = "bestsolutions"
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
        return self._get(base_url, "profile", {"username": handle}, credential)

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        params = {"user_id": profile.profile_id}
        if cursor:
            params["max_id"] = cursor
        return self._get(base_url, "feed", params, credential)

    # -- parsers ------------------------------------------------------------------------------

    def _payload(self, raw: RawResponse) -> dict[str, Any]:
        err = rapidapi_error(raw, try_json(raw))
        if err is not None:
            raise err
        return expect_dict(load_json(raw), "body")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        user = field_dict(self._payload(raw), "user", "body")
        return mobile_profile(user, "user"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        page = self._payload(raw)
        if "items" not in page:
            raise MalformedResponse("body: missing list 'items'")
        posts = [
            mobile_post(expect_dict(item, f"items[{i}]"), f"items[{i}]")
            for i, item in enumerate(opt_list(page, "items", "body"))
        ]
        return posts, mobile_next_max_id(page, "body")
