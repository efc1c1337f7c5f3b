"""YouTube providers: the Data API with a key (``ytapitoken``) or a channel's OAuth grant
(``ytapi``), and the RapidAPI services ``youtube138``, ``yt-v31`` and ``yt-search``.

``PROVIDERS`` maps each name to its adapter (pure request builders and parsers); the crawler
(``providers.youtube.crawler``, imported separately because it pulls in aiohttp) walks them.
"""

from providers.youtube.base import YouTubeProvider
from providers.youtube.dataapi import YtApiToken
from providers.youtube.model import SearchResult, YouTubeChannel, YouTubeVideo
from providers.youtube.shorts import YtShorts
from providers.youtube.youtube138 import Youtube138
from providers.youtube.ytapi import AccessToken, YtApi
from providers.youtube.ytsearch import YtSearch
from providers.youtube.ytv31 import YtV31

__all__ = [
    "PROVIDERS",
    "AccessToken",
    "SearchResult",
    "YouTubeChannel",
    "YouTubeProvider",
    "YouTubeVideo",
    "Youtube138",
    "YtApi",
    "YtApiToken",
    "YtSearch",
    "YtShorts",
    "YtV31",
]

PROVIDERS: dict[str, YouTubeProvider] = {
    provider.name: provider
    for provider in (YtApiToken(), YtApi(), Youtube138(), YtV31(), YtSearch(), YtShorts())
}
