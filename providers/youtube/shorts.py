"""``yt-shorts``: ask YouTube itself whether a video is a Short (the original's check).

``GET https://www.youtube.com/shorts/{id}`` without following redirects: YouTube serves the
Shorts player (200) for a Short and redirects (303, ``Location: /watch?v={id}``) anything else.
Duration alone cannot tell: Shorts may last up to three minutes (since October 2024) and a
45-second upload filmed landscape is an ordinary video. No credential; 429 is a rate limit,
404 a video that does not exist.
"""

from __future__ import annotations

from typing import ClassVar

from providers.credentials import Credential
from providers.errors import MalformedResponse, ProviderUnavailable, RateLimited, TargetNotFound
from providers.http import ProviderRequest, RawResponse
from providers.youtube.base import YouTubeProvider

CAP_POST_TYPE = "post_type"
KIND_SHORTS_PAGE = "shorts_page"


class YtShorts(YouTubeProvider):
    name: ClassVar[str] = "yt-shorts"
    supports: ClassVar[frozenset[str]] = frozenset({CAP_POST_TYPE})
    needs_credential: ClassVar[bool] = False

    def shorts_request(
        self, video_id: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/shorts/{video_id}",
            params={},
            headers={"Accept": "text/html", "Accept-Language": "en"},
        )

    def parse_is_short(self, raw: RawResponse) -> bool:
        """True for the Shorts player, False for a redirect to the watch page."""
        return self._guard(raw, self._parse_is_short)

    def _parse_is_short(self, raw: RawResponse) -> bool:
        if raw.status == 200:
            return True
        if raw.status in (301, 302, 303, 307, 308):
            if "/watch" not in (raw.header("location") or ""):
                raise MalformedResponse("a redirect that is not to the watch page")
            return False
        if raw.status == 404:
            raise TargetNotFound("no such video")
        if raw.status == 429:
            raise RateLimited("youtube.com rate limit", status=429)
        raise ProviderUnavailable(f"youtube.com answered {raw.status}", status=raw.status)
