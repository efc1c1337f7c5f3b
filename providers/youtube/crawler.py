"""Fetch YouTube data through fallback chains of providers (``providers.engine.Crawler``).

Fetches: ``channel`` (by id or handle), ``channel_videos`` (the uploads, newest first, with full
details), ``videos`` (by id) and ``search``. Each walks the chain configured for its fetch type
(``DEFAULT_CHAINS``, data): the Data API with a key first, as in the original, then the other
sources. A ``ProviderFault`` moves on; a ``TargetFact`` (no such channel) is final.

Paging never switches provider: all pages of a listing come from the provider that served the
first one (the loop runs inside one attempt), and a fault on a later page fails that provider and
restarts the listing from scratch on the next one. ``channel_videos`` has two such phases: the
ids (uploads playlist pages, or the clones' equivalents), then the details in chunks of
``videos_per_request`` ids; each phase walks its own chain.

``ytapi`` (OAuth) needs an access token: the crawler refreshes it once per credential and caches
it until shortly before it expires (one refresh at a time per credential). The token answer is
never kept in ``Fetched.raw``, and the token itself is treated as a secret of the credential
(scrubbed from stored bodies, headers, traces and errors).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, TypeVar

from providers.credentials import Credential
from providers.engine import ChainEntry, Crawler, Fetched
from providers.errors import BadInput, ProviderError, TargetNotFound
from providers.http import ProviderRequest, RawResponse
from providers.youtube import PROVIDERS
from providers.youtube.analytics import CAP_INSIGHTS, KIND_REPORT, REPORTS, AudienceReport
from providers.youtube.base import (
    CAP_CHANNEL,
    CAP_GENRE,
    CAP_SEARCH,
    CAP_VIDEO_IDS,
    CAP_VIDEOS,
    KIND_CHANNEL,
    KIND_CHANNELS,
    KIND_OAUTH_TOKEN,
    KIND_PLAYLIST_PAGE,
    KIND_SEARCH,
    KIND_VIDEOS,
    YouTubeProvider,
    normalize_channel_id,
    normalize_handle,
    normalize_query,
    normalize_video_id,
)
from providers.youtube.comments import CAP_COMMENTS, KIND_COMMENTS, YouTubeComment
from providers.youtube.model import SearchResult, YouTubeChannel, YouTubeVideo
from providers.youtube.shorts import CAP_POST_TYPE, KIND_SHORTS_PAGE, YtShorts
from providers.youtube.social import (
    CAP_ACTIVITIES,
    CAP_SUBSCRIPTIONS,
    KIND_ACTIVITIES,
    KIND_SUBSCRIPTIONS,
    YouTubeActivity,
    YouTubeSubscription,
)
from providers.youtube.ytapi import ACCESS_TOKEN_FIELD, YtApi

__all__ = [
    "DEFAULT_CHAINS",
    "FETCH_TYPES",
    "MAX_PAGES",
    "YouTubeCrawler",
    "reparse_channels",
    "reparse_listing",
    "reparse_videos",
]

T = TypeVar("T")

#: Fallback order per fetch type (``chains=`` overrides it). The key-based Data API is always
#: first; the OAuth grants (also the Data API, with their own quota) come next; channel video
#: ids then fall back to yt-v31 and youtube138, search to yt-search.
DEFAULT_CHAINS: dict[str, list[ChainEntry]] = {
    "channel": ["ytapitoken", "ytapi", "yt-v31", "youtube138"],
    "channel_video_ids": ["ytapitoken", "ytapi", "yt-v31", "youtube138"],
    "videos": ["ytapitoken", "ytapi", "yt-v31", "youtube138"],
    "search": ["ytapitoken", "yt-search"],
    # Only YouTube itself can say whether a video is a Short.
    "post_type": ["yt-shorts"],
    "comments": ["ytapitoken", "ytapi"],
    "activities": ["ytapitoken", "ytapi"],
    "subscriptions": ["ytapitoken", "ytapi"],
    "genre": ["ytapitoken", "ytapi"],
    # Only the channel owner's own grant reads its audience.
    "insights": ["ytapi"],
}

FETCH_TYPES: dict[str, frozenset[str]] = {
    "channel": frozenset({CAP_CHANNEL}),
    "channel_video_ids": frozenset({CAP_VIDEO_IDS}),
    "videos": frozenset({CAP_VIDEOS}),
    "search": frozenset({CAP_SEARCH}),
    "post_type": frozenset({CAP_POST_TYPE}),
    "comments": frozenset({CAP_COMMENTS}),
    "activities": frozenset({CAP_ACTIVITIES}),
    "subscriptions": frozenset({CAP_SUBSCRIPTIONS}),
    "genre": frozenset({CAP_GENRE}),
    "insights": frozenset({CAP_INSIGHTS}),
}

#: A listing never reads more pages than this (a provider looping on its cursor stops here).
MAX_PAGES = 200
MAX_IDS = 5000
#: The most comments, activities or subscriptions one listing reads.
MAX_LISTED = 10_000
#: Refresh an access token this long before Google says it expires.
TOKEN_MARGIN_SECONDS = 60.0


@dataclass
class _CachedToken:
    token: str
    expires_at: float


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), max(1, size))]


def _in_order(videos: Iterable[YouTubeVideo], ids: Sequence[str]) -> list[YouTubeVideo]:
    """The videos in the order of ``ids``, each once; ids nobody returned are left out."""
    by_id: dict[str, YouTubeVideo] = {}
    for video in videos:
        by_id.setdefault(video.video_id, video)
    return [by_id[i] for i in ids if i in by_id]


def reparse_videos(
    raws: Sequence[RawResponse], providers: Mapping[str, YouTubeProvider] = PROVIDERS
) -> list[YouTubeVideo]:
    """Rebuild a ``channel_videos`` or ``videos`` result from its stored raw responses (no
    network): the ids pages give the order, the videos answers the details."""
    ids: list[str] = []
    videos: list[YouTubeVideo] = []
    for raw in raws:
        provider = providers.get(raw.provider)
        if provider is None:
            raise ValueError(f"unknown provider {raw.provider!r}")
        if raw.kind == KIND_PLAYLIST_PAGE:
            page, _ = provider.parse_video_ids(raw)
            ids.extend(i for i in page if i not in ids)
        elif raw.kind == KIND_VIDEOS:
            videos.extend(provider.parse_videos(raw))
        else:
            raise ValueError(f"unexpected raw response kind {raw.kind!r}")
    return _in_order(videos, ids) if ids else _in_order(videos, [v.video_id for v in videos])


def reparse_listing(
    raws: Sequence[RawResponse], providers: Mapping[str, YouTubeProvider] = PROVIDERS
) -> list[Any]:
    """Rebuild a comments, activities or subscriptions listing from its stored pages (no
    network), each item once, in the order the pages gave them."""
    found: dict[str, Any] = {}
    for raw in raws:
        provider = providers.get(raw.provider)
        if provider is None:
            raise ValueError(f"unknown provider {raw.provider!r}")
        if raw.kind not in _LISTING_KINDS:
            raise ValueError(f"unexpected raw response kind {raw.kind!r}")
        for item in provider.parse(raw)[0]:
            found.setdefault(_item_key(item), item)
    return list(found.values())


_LISTING_KINDS = frozenset({KIND_COMMENTS, KIND_ACTIVITIES, KIND_SUBSCRIPTIONS})


def _item_key(item: Any) -> str:
    for name in ("comment_id", "activity_id", "subscription_id"):
        if hasattr(item, name):
            return str(getattr(item, name))
    raise TypeError(f"not a listing item: {item!r}")


def reparse_channels(
    raws: Sequence[RawResponse], providers: Mapping[str, YouTubeProvider] = PROVIDERS
) -> list[YouTubeChannel]:
    """Rebuild a ``channels`` result from its stored raw responses (no network)."""
    found: list[YouTubeChannel] = []
    for raw in raws:
        provider = providers.get(raw.provider)
        if provider is None:
            raise ValueError(f"unknown provider {raw.provider!r}")
        if raw.kind == KIND_CHANNELS:
            found.extend(provider.parse_channels(raw))
        elif raw.kind == KIND_CHANNEL:
            found.append(provider.parse_channel(raw))
        else:
            raise ValueError(f"unexpected raw response kind {raw.kind!r}")
    return list({c.channel_id: c for c in found}.values())


class YouTubeCrawler(Crawler):
    FETCH_TYPES: ClassVar[Mapping[str, frozenset[str]]] = FETCH_TYPES
    DEFAULT_CHAINS: ClassVar[Mapping[str, Sequence[ChainEntry]]] = DEFAULT_CHAINS
    PROVIDERS: ClassVar[Mapping[str, YouTubeProvider]] = PROVIDERS

    def __init__(
        self, *args: Any, clock: Callable[[], float] = time.monotonic, **kwargs: Any
    ) -> None:
        """``Crawler``'s arguments, plus the ``clock`` access tokens expire by."""
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._tokens: dict[tuple[str, str, str], _CachedToken] = {}
        self._token_locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        #: How many token refreshes were performed (operators and tests read it).
        self.token_refreshes = 0

    # -- public fetches -------------------------------------------------------------------------

    async def channel(
        self, channel_id: str | None = None, handle: str | None = None
    ) -> Fetched[YouTubeChannel]:
        """One channel, by id or by handle (exactly one of them)."""
        if (channel_id is None) == (handle is None):
            raise BadInput("give a channel id or a handle, not both or neither")
        clean_id = normalize_channel_id(channel_id) if channel_id is not None else None
        clean_handle = normalize_handle(handle) if handle is not None else None

        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[YouTubeChannel, list[RawResponse]]:
            raw = await self._call(
                provider,
                cred,
                base_url,
                KIND_CHANNEL,
                provider.channel_request,
                clean_id,
                clean_handle,
            )
            return provider.parse_channel(raw), [raw]

        return await self._fallback("channel", attempt)

    async def channels(self, channel_ids: Iterable[str]) -> Fetched[list[YouTubeChannel]]:
        """Many channels by id, in as few calls as the provider allows (the Data API takes 50
        ids a call). Ids nobody knows are left out; TargetNotFound when none exists."""
        ids: list[str] = []
        for channel_id in channel_ids:
            clean = normalize_channel_id(channel_id)
            if clean not in ids:
                ids.append(clean)
        if not ids:
            raise BadInput("no channel ids given")
        if len(ids) > MAX_IDS:
            raise BadInput(f"at most {MAX_IDS} channel ids")

        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[list[YouTubeChannel], list[RawResponse]]:
            found: list[YouTubeChannel] = []
            raws: list[RawResponse] = []
            for chunk in _chunks(ids, provider.channels_per_request):
                raw = await self._call(
                    provider, cred, base_url, KIND_CHANNELS, provider.channels_request, chunk
                )
                raws.append(raw)
                found.extend(provider.parse_channels(raw))
            by_id = {c.channel_id: c for c in found}
            channels = [by_id[i] for i in ids if i in by_id]
            if not channels:
                raise TargetNotFound("none of the channels exists", provider=provider.name)
            return channels, raws

        return await self._fallback("channel", attempt)

    async def channel_videos(
        self, channel_id: str, max_videos: int = 50
    ) -> Fetched[list[YouTubeVideo]]:
        """The channel's latest uploads (at most ``max_videos``), newest first, with details."""
        clean_id = normalize_channel_id(channel_id)
        if not isinstance(max_videos, int) or not 0 < max_videos <= MAX_IDS:
            raise BadInput(f"max_videos must be within 1..{MAX_IDS}")
        listed = await self._video_ids(clean_id, max_videos)
        ids = listed.value
        if not ids:
            return Fetched([], listed.provider, listed.raw, listed.attempts)
        details = await self._videos(ids, require_any=False)
        return Fetched(
            value=details.value,
            provider=details.provider,
            raw=[*listed.raw, *details.raw],
            attempts=[*listed.attempts, *details.attempts],
        )

    async def videos(self, video_ids: Iterable[str]) -> Fetched[list[YouTubeVideo]]:
        """The given videos (in the order given); TargetNotFound when none of them exists."""
        ids: list[str] = []
        for video_id in video_ids:
            clean = normalize_video_id(video_id)
            if clean not in ids:
                ids.append(clean)
        if not ids:
            raise BadInput("no video ids given")
        if len(ids) > MAX_IDS:
            raise BadInput(f"at most {MAX_IDS} video ids")
        return await self._videos(ids, require_any=True)

    async def search(self, query: str, max_results: int = 50) -> Fetched[list[SearchResult]]:
        """Search results for ``query`` (at most ``max_results``), all pages from one provider."""
        clean = normalize_query(query)
        if not isinstance(max_results, int) or not 0 < max_results <= 500:
            raise BadInput("max_results must be within 1..500")

        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[list[SearchResult], list[RawResponse]]:
            results: list[SearchResult] = []
            raws: list[RawResponse] = []
            cursor: str | None = None
            seen: set[str | None] = set()
            while len(results) < max_results and len(raws) < MAX_PAGES:
                seen.add(cursor)
                raw = await self._call(
                    provider, cred, base_url, KIND_SEARCH, provider.search_request, clean, cursor
                )
                raws.append(raw)
                page, cursor = provider.parse_search(raw)
                results.extend(page)
                if not page or cursor is None or cursor in seen:
                    break
            return results[:max_results], raws

        return await self._fallback("search", attempt)

    async def comments(
        self, video_id: str, max_comments: int = 100
    ) -> Fetched[list[YouTubeComment]]:
        """A video's newest top-level comments (at most ``max_comments``). Comments turned
        off: an empty list."""
        return await self._listing(
            "comments", KIND_COMMENTS, normalize_video_id(video_id), max_comments,
            lambda p: p.comments_request, lambda p: p.parse_comments,
        )  # fmt: skip

    async def activities(
        self, channel_id: str, max_activities: int = 50
    ) -> Fetched[list[YouTubeActivity]]:
        """A channel's activity feed, newest first (at most ``max_activities``)."""
        return await self._listing(
            "activities", KIND_ACTIVITIES, normalize_channel_id(channel_id), max_activities,
            lambda p: p.activities_request, lambda p: p.parse_activities,
        )  # fmt: skip

    async def subscriptions(
        self, channel_id: str, max_subscriptions: int = 50
    ) -> Fetched[list[YouTubeSubscription]]:
        """The channels ``channel_id`` subscribes to (at most ``max_subscriptions``);
        TargetPrivate when it keeps them private."""
        return await self._listing(
            "subscriptions", KIND_SUBSCRIPTIONS, normalize_channel_id(channel_id),
            max_subscriptions, lambda p: p.subscriptions_request, lambda p: p.parse_subscriptions,
        )  # fmt: skip

    async def genre(
        self, category: str, language: str | None, max_results: int = 50
    ) -> Fetched[list[SearchResult]]:
        """The most viewed videos of a category (a YouTube videoCategoryId), preferring
        ``language``; search results (no statistics: fetch ``videos`` for those)."""
        if not isinstance(category, str) or not category.isdigit() or len(category) > 4:
            raise BadInput(f"invalid YouTube category id {str(category)[:10]!r}")
        return await self._listing(
            "genre", KIND_SEARCH, (category, language), max_results,
            lambda p: p.genre_request, lambda p: p.parse_search,
        )  # fmt: skip

    async def insights(
        self, channel_id: str, start: date, end: date, reports: Sequence[str] = tuple(REPORTS)
    ) -> Fetched[list[AudienceReport]]:
        """The channel's audience ``reports`` (by country, city and gender/age) over
        [start, end], through the owner's own ``ytapi`` grant (a credential whose handle is the
        channel id)."""
        if not reports or any(r not in REPORTS for r in reports):
            raise BadInput(f"reports must be among {sorted(REPORTS)}")
        clean = normalize_channel_id(channel_id)
        if start > end:
            raise BadInput("start is after end")

        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[list[AudienceReport], list[RawResponse]]:
            if not isinstance(provider, YtApi):
                raise TypeError(f"{provider.name} cannot read Analytics reports")
            raws: list[RawResponse] = []
            for report in reports:
                build = provider.report_request
                raws.append(
                    await self._call(
                        provider, cred, base_url, KIND_REPORT, build, report, start, end
                    )
                )
            return [provider.parse_report(raw) for raw in raws], raws

        return await self._on_provider("ytapi", "insights", attempt, credential_handle=clean)

    async def _listing(
        self,
        fetch_type: str,
        kind: str,
        target: object,
        max_items: int,
        build: Callable[[YouTubeProvider], Callable[..., ProviderRequest]],
        parse: Callable[[YouTubeProvider], Callable[[RawResponse], tuple[list[T], str | None]]],
    ) -> Fetched[list[T]]:
        """Up to ``max_items`` of a paged Data API listing about ``target``, all pages from the
        provider that served the first one."""
        if not isinstance(max_items, int) or not 0 < max_items <= MAX_LISTED:
            raise BadInput(f"the maximum must be within 1..{MAX_LISTED}")

        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[list[T], list[RawResponse]]:
            found: list[T] = []
            raws: list[RawResponse] = []
            cursor: str | None = None
            seen: set[str | None] = set()
            while len(found) < max_items and len(raws) < MAX_PAGES:
                seen.add(cursor)
                raw = await self._call(
                    provider, cred, base_url, kind, build(provider), target, cursor
                )
                raws.append(raw)
                page, cursor = parse(provider)(raw)
                found.extend(page)
                if not page or cursor is None or cursor in seen:
                    break
            return found[:max_items], raws

        return await self._fallback(fetch_type, attempt)

    async def is_short(self, video_id: str) -> Fetched[bool]:
        """Whether YouTube serves ``video_id`` in its Shorts player (not a duration guess)."""
        clean = normalize_video_id(video_id)

        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[bool, list[RawResponse]]:
            if not isinstance(provider, YtShorts):
                raise TypeError(f"{provider.name} cannot tell Shorts apart")
            raw = await self._call(
                provider, cred, base_url, KIND_SHORTS_PAGE, provider.shorts_request, clean
            )
            return provider.parse_is_short(raw), [raw]

        return await self._fallback("post_type", attempt)

    # -- the two phases of channel_videos -------------------------------------------------------

    async def _video_ids(self, channel_id: str, max_videos: int) -> Fetched[list[str]]:
        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[list[str], list[RawResponse]]:
            ids: list[str] = []
            raws: list[RawResponse] = []
            cursor: str | None = None
            seen: set[str | None] = set()
            while len(ids) < max_videos and len(raws) < MAX_PAGES:
                seen.add(cursor)
                raw = await self._call(
                    provider,
                    cred,
                    base_url,
                    KIND_PLAYLIST_PAGE,
                    provider.video_ids_request,
                    channel_id,
                    cursor,
                )
                raws.append(raw)
                page, cursor = provider.parse_video_ids(raw)
                ids.extend(i for i in page if i not in ids)
                if not page or cursor is None or cursor in seen:
                    break
            return ids[:max_videos], raws

        return await self._fallback("channel_video_ids", attempt)

    async def _videos(
        self, ids: Sequence[str], *, require_any: bool
    ) -> Fetched[list[YouTubeVideo]]:
        async def attempt(
            provider: YouTubeProvider, cred: Credential, base_url: str
        ) -> tuple[list[YouTubeVideo], list[RawResponse]]:
            found: list[YouTubeVideo] = []
            raws: list[RawResponse] = []
            for chunk in _chunks(ids, provider.videos_per_request):
                raw = await self._call(
                    provider, cred, base_url, KIND_VIDEOS, provider.videos_request, chunk
                )
                raws.append(raw)
                try:
                    found.extend(provider.parse_videos(raw))
                except TargetNotFound:
                    # One-video-a-request providers say so per video: a deleted video among
                    # the uploads is no reason to fail the others.
                    if len(chunk) > 1:
                        raise
            videos = _in_order(found, ids)
            if require_any and not videos:
                raise TargetNotFound("none of the videos exists", provider=provider.name)
            return videos, raws

        return await self._fallback("videos", attempt)

    # -- one HTTP call, with OAuth when the provider needs it ----------------------------------

    async def _call(
        self,
        provider: YouTubeProvider,
        cred: Credential,
        base_url: str,
        kind: str,
        build: Callable[..., ProviderRequest],
        *args: object,
    ) -> RawResponse:
        """``build(*args, credential, base_url)`` executed as ``kind``. For OAuth providers a
        401 (token revoked before its time) is answered by one refresh and one retry; the 401
        answer itself is not returned."""
        if not provider.needs_oauth:
            return await self._execute(provider.name, kind, build(*args, cred, base_url), cred)
        for retry in (False, True):
            authed = await self._authorized(provider, cred, base_url)
            try:
                request = build(*args, authed, base_url)
                raw = await self._execute(provider.name, kind, request, authed)
            except ProviderError as err:
                err.redact(authed.secret_values())
                raise
            if raw.status != 401 or retry:
                return raw
            # Google revoked the token before its time: refresh once, then believe the answer.
            self._tokens.pop(self._token_key(cred), None)
        raise AssertionError("unreachable")

    @staticmethod
    def _token_key(cred: Credential) -> tuple[str, str, str]:
        # The fingerprint changes when the secret is rotated: a new grant gets a new token.
        return (cred.provider, cred.id, cred.fingerprint)

    async def _authorized(
        self, provider: YouTubeProvider, cred: Credential, base_url: str
    ) -> Credential:
        """A credential carrying a valid access token (refreshed when needed, once at a time).
        Only the token: the refresh secrets are not needed for API calls."""
        key = self._token_key(cred)
        lock = self._token_locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is None or cached.expires_at <= self._clock():
                cached = await self._refresh(provider, cred, base_url)
                self._tokens[key] = cached
        return Credential(
            id=cred.id,
            provider=cred.provider,
            secret={ACCESS_TOKEN_FIELD: cached.token},
            handle=cred.handle,
        )

    async def _refresh(
        self, provider: YouTubeProvider, cred: Credential, base_url: str
    ) -> _CachedToken:
        if not isinstance(provider, YtApi):
            raise TypeError(f"{provider.name} needs OAuth but cannot refresh tokens")
        request = provider.token_request(cred, base_url)
        started = self._clock()
        # The answer holds the access token: it is parsed here and dropped, never returned.
        raw = await self._execute(provider.name, KIND_OAUTH_TOKEN, request, cred)
        self.token_refreshes += 1
        token = provider.parse_token(raw)
        lifetime = max(token.expires_in - TOKEN_MARGIN_SECONDS, token.expires_in / 2)
        return _CachedToken(token=token.token, expires_at=started + lifetime)
