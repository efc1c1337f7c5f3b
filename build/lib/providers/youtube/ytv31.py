"""RapidAPI "youtube-v31" (``yt-v31``): a Data-API-shaped clone.

* channel:   ``GET {base}/channels?part=snippet,statistics,contentDetails&id=UC...``
  (by id only: a handle is ``TargetNotServed`` so the chain moves on)
* video ids: ``GET {base}/search?channelId=UC...&part=id&order=date&type=video&maxResults=50
  &pageToken=`` (a search page: ``items[].id.videoId``)
* videos:    ``GET {base}/videos?part=snippet,statistics,contentDetails&id=a,b,...``

Bodies are the Data API's; errors are RapidAPI's, or Google's envelope passed through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from providers.credentials import Credential
from providers.errors import TargetNotServed
from providers.http import ProviderRequest
from providers.youtube.base import CAP_CHANNEL, CAP_VIDEO_IDS, CAP_VIDEOS
from providers.youtube.dataapi import CHANNEL_PARTS, PAGE_SIZE, VIDEO_PARTS, DataApiParsers
from providers.youtube.rapidapi import RapidApiProvider

__all__ = ["RAPIDAPI_HOST", "YtV31"]

RAPIDAPI_HOST = "youtube-v31.p.rapidapi.com"


class YtV31(RapidApiProvider, DataApiParsers):
    name: ClassVar[str] = "yt-v31"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({CAP_CHANNEL, CAP_VIDEO_IDS, CAP_VIDEOS})

    def channel_request(
        self, channel_id: str | None, handle: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        if not channel_id:
            raise TargetNotServed("yt-v31 looks channels up by id only", provider=self.name)
        params = {"part": CHANNEL_PARTS, "id": channel_id}
        return self._get(base_url, "channels", params, credential)

    def video_ids_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = {
            "channelId": channel_id,
            "part": "id",
            "order": "date",
            "type": "video",
            "maxResults": str(PAGE_SIZE),
        }
        if cursor:
            params["pageToken"] = cursor
        return self._get(base_url, "search", params, credential)

    def videos_request(
        self, video_ids: Sequence[str], credential: Credential, base_url: str
    ) -> ProviderRequest:
        if not 0 < len(video_ids) <= self.videos_per_request:
            raise ValueError(f"videos_request takes 1 to {self.videos_per_request} ids")
        params = {"part": VIDEO_PARTS, "id": ",".join(video_ids)}
        return self._get(base_url, "videos", params, credential)
