"""RocketAPI (``v1.rocketapi.io``): Instagram's raw answers inside Rocket's own envelope.

The credential secret IS the headers dict: ``{"Authorization": "Token ..."}``. Every call is a
``POST`` with a JSON body, and every answer that reached Instagram is wrapped:
``{"status": "done", "response": {"status_code": 200, "content_type": "application/json",
"body": {...Instagram's answer...}}}``. Instagram's own errors (404 for a missing user, "Not
authorized to view user" for a private one) arrive INSIDE the envelope with HTTP 200 outside.

* profile:   ``POST {base}/instagram/user/get_info {"username": h}`` -> body is the web
  ``web_profile_info``: ``{"data": {"user": {...edge_followed_by...}}, "status": "ok"}``
* post:      ``POST {base}/instagram/media/get_info_by_shortcode {"shortcode": s}`` -> body is
  the mobile ``media/info``: ``{"items": [{...}], "num_results": 1, "status": "ok"}``
* followers: ``POST {base}/instagram/user/get_followers {"id": pk, "count": 50, "max_id": c}``
  -> body is the mobile ``friendships/{pk}/followers``: ``{"users": [...], "next_max_id": ...}``

Rocket's own answers (outside the envelope) are Django REST framework's: 401 ``{"detail":
"Invalid token."}``, 429 ``{"detail": "Request was throttled. Expected available in 12
seconds."}`` with ``Retry-After``.
"""

from __future__ import annotations

import re
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
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import (
    FETCH_FOLLOWERS,
    FETCH_POST,
    FETCH_PROFILE,
    FollowersParse,
    ProfileParse,
    expect_dict,
    field_dict,
    opt_list,
    req_str,
    to_int,
)
from providers.instagram.rapidapi import (
    RapidApiProvider,
    error_message,
    header_secret,
    mobile_follower,
    mobile_next_max_id,
    mobile_post,
    wait_seconds,
    web_profile_with_posts,
    web_user,
)
from providers.model import InstagramPost, InstagramProfile

__all__ = ["FOLLOWERS_PAGE", "RocketApi", "rocket_error"]

FOLLOWERS_PAGE = 50
_THROTTLE_WAIT = re.compile(r"available in (\d{1,7}) second")
_PRIVATE_WORDS = ("not authorized to view user", "private")
_NOT_FOUND_WORDS = ("not found", "does not exist", "no user", "user not found")


def _throttle_wait(raw: RawResponse, text: str) -> float | None:
    """``Retry-After`` first; DRF also says it in words ("Expected available in 12 seconds")."""
    header = wait_seconds(raw)
    if header is not None:
        return header
    match = _THROTTLE_WAIT.search(text)
    return float(match.group(1)) if match and int(match.group(1)) > 0 else None


def rocket_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Rocket's own answer (outside the envelope) mapped to an error, or None."""
    status = raw.status
    text = error_message(payload) or f"HTTP {status}"
    if status == 429:
        return RateLimited(text, status=status, retry_after=_throttle_wait(raw, text))
    if status in (401, 402, 403):
        return CredentialRejected(text, status=status)
    if status >= 400:
        # 5xx, or a 4xx about our request (unknown endpoint, bad JSON): not the target.
        return ProviderUnavailable(text, status=status)
    return None


def instagram_error(code: int, body: Any) -> ProviderError | None:
    """Instagram's answer inside the envelope mapped to an error, or None when it is a success.

    Instagram throttling Rocket's sessions, or failing, is Rocket's problem, not our credential's.
    """
    text = error_message(body) or f"Instagram HTTP {code}"
    lower = text.lower()
    failed = isinstance(body, dict) and body.get("status") == "fail"
    if code == 404:
        return TargetNotFound(text, status=code)
    if 400 <= code < 500 or failed:
        if any(w in lower for w in _PRIVATE_WORDS):
            return TargetPrivate(text, status=code)
        if any(w in lower for w in _NOT_FOUND_WORDS):
            return TargetNotFound(text, status=code)
    if code >= 300 or failed:
        return ProviderUnavailable(f"Instagram answered Rocket with {text}", status=code)
    return None


class RocketApi(RapidApiProvider):
    name: ClassVar[str] = "rocketapi"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POST, FETCH_FOLLOWERS})
    # The web profile carries its first 12 posts; with no posts endpoint here they end it.
    profile_includes_posts: ClassVar[bool] = True

    # -- requests -----------------------------------------------------------------------------

    def _headers(self, credential: Credential) -> dict[str, str]:
        return header_secret(credential, self.name, "Authorization")

    def _post(
        self, base_url: str, path: str, body: dict[str, Any], credential: Credential
    ) -> ProviderRequest:
        return ProviderRequest(
            method="POST",
            url=f"{base_url.rstrip('/')}/instagram/{path}",
            headers=self._headers(credential),
            json=body,
        )

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._post(base_url, "user/get_info", {"username": handle}, credential)

    def post_request(
        self, shortcode: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._post(
            base_url, "media/get_info_by_shortcode", {"shortcode": shortcode}, credential
        )

    def followers_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        user_id: int | str = profile.profile_id
        if profile.profile_id.isdigit():
            user_id = int(profile.profile_id)
        body: dict[str, Any] = {"id": user_id, "count": FOLLOWERS_PAGE}
        if cursor:
            body["max_id"] = cursor
        return self._post(base_url, "user/get_followers", body, credential)

    # -- parsers ------------------------------------------------------------------------------

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        return rocket_error(raw, payload)

    def _instagram_body(self, raw: RawResponse) -> dict[str, Any]:
        """Unwrap the envelope: Instagram's answer, or the error it (or Rocket) stands for."""
        envelope = self._payload(raw)
        state = req_str(envelope, "status", "body")
        if state != "done":
            detail = error_message(envelope) or state
            raise ProviderUnavailable(f"Rocket task {state[:20]!r}: {detail}")
        response = field_dict(envelope, "response", "body")
        code = to_int(response.get("status_code"), "response.status_code")
        if code is None:
            raise MalformedResponse("response: missing 'status_code'")
        body = response.get("body")
        err = instagram_error(code, body)
        if err is not None:
            raise err
        return expect_dict(body, "response.body")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        data = field_dict(self._instagram_body(raw), "data", "response.body")
        user = web_user(data, "response.body.data")
        # With no posts endpoint here, the first page is all there is: no cursor.
        profile, posts, _ = web_profile_with_posts(user, "response.body.data.user")
        return profile, posts, None

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        body = self._instagram_body(raw)
        if "items" not in body:
            raise MalformedResponse("response.body: missing list 'items'")
        items = opt_list(body, "items", "response.body")
        if not items:
            raise TargetNotFound("post not found")
        where = "response.body.items[0]"
        return mobile_post(expect_dict(items[0], where), where)

    def _parse_followers(self, raw: RawResponse) -> FollowersParse:
        body = self._instagram_body(raw)
        if "users" not in body:
            raise MalformedResponse("response.body: missing list 'users'")
        users = opt_list(body, "users", "response.body")
        wheres = [f"response.body.users[{i}]" for i in range(len(users))]
        followers = [
            mobile_follower(expect_dict(u, w), w) for u, w in zip(users, wheres, strict=True)
        ]
        return followers, mobile_next_max_id(body, "response.body")
