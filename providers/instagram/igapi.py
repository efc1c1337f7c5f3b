"""RapidAPI "igdata" (IGApi): mobile-family payloads in a ``data`` envelope.

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile: ``GET {base}/v1/info?username_or_id_or_url=h`` -> ``{"data": {...mobile user...}}``
  (``id``, ``follower_count``, ``following_count``, ``media_count``, ``account_type``...)
* posts:   ``GET {base}/v1/posts?username_or_id_or_url=pk&pagination_token=c`` ->
  ``{"data": {"count": n, "items": [...mobile media...]}, "pagination_token": "..." | null}``

Errors: the shared RapidAPI mapping; this API answers FastAPI-style ``{"detail": "..."}``.
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
    opt_str,
    try_json,
)
from providers.instagram.rapidapi import (
    mobile_post,
    mobile_profile,
    rapidapi_error,
    rapidapi_headers,
)
from providers.model import InstagramProfile

__all__ = ["RAPIDAPI_HOST", "IgApi"]

RAPIDAPI_HOST = "igdata.p.rapidapi.com"


class IgApi(InstagramProvider):
    name: ClassVar[str] = "igapi"
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
        return self._get(base_url, "v1/info", {"username_or_id_or_url": handle}, credential)

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        # The id, not the handle: a renamed account keeps its id.
        params = {"username_or_id_or_url": profile.profile_id}
        if cursor:
            params["pagination_token"] = cursor
        return self._get(base_url, "v1/posts", params, credential)

    # -- parsers ------------------------------------------------------------------------------

    def _payload(self, raw: RawResponse) -> dict[str, Any]:
        err = rapidapi_error(raw, try_json(raw))
        if err is not None:
            raise err
        return expect_dict(load_json(raw), "body")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        data = field_dict(self._payload(raw), "data", "body")
        return mobile_profile(data, "data"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        payload = self._payload(raw)
        data = field_dict(payload, "data", "body")
        if "items" not in data:
            raise MalformedResponse("data: missing list 'items'")
        posts = [
            mobile_post(expect_dict(item, f"data.items[{i}]"), f"data.items[{i}]")
            for i, item in enumerate(opt_list(data, "items", "data"))
        ]
        return posts, opt_str(payload, "pagination_token", "body") or None
