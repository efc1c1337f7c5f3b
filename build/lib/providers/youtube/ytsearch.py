"""RapidAPI "youtube-v311" (``yt-search``, the original's rapidapi-yt-search): Data API search.

* search: ``GET {base}/search/?part=snippet&q=...&type=video&maxResults=50&pageToken=``

Bodies are the Data API's ``search.list``; errors are RapidAPI's.
"""

from __future__ import annotations

from typing import ClassVar

from providers.credentials import Credential
from providers.http import ProviderRequest
from providers.youtube.base import CAP_SEARCH
from providers.youtube.dataapi import PAGE_SIZE, DataApiParsers
from providers.youtube.rapidapi import RapidApiProvider

__all__ = ["RAPIDAPI_HOST", "YtSearch"]

RAPIDAPI_HOST = "youtube-v311.p.rapidapi.com"


class YtSearch(RapidApiProvider, DataApiParsers):
    name: ClassVar[str] = "yt-search"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({CAP_SEARCH})

    def search_request(
        self, query: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = {"part": "snippet", "q": query, "type": "video", "maxResults": str(PAGE_SIZE)}
        if cursor:
            params["pageToken"] = cursor
        return self._get(base_url, "search/", params, credential)
