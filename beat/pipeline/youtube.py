"""What each YouTube flow does with the crawler, and how its raw responses become rows.

A handler fetches, then builds its outcome with `outcome_from` from the flow, the params and
the raw responses alone; a backfill calls the same function on the stored raw responses, so a
rebuilt day holds exactly what the live run wrote (and each item keeps the time the provider
answered, which is what lets a rebuild never overwrite a newer observation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from beat.pipeline.family import (
    FamilyPipeline,
    FlowHandler,
    FlowOutcome,
    WriteContext,
    raw_responses,
)
from beat.store.youtube import upsert_youtube
from beat.store.youtube_social import (
    upsert_activities,
    upsert_comments,
    upsert_insights,
    upsert_relationships,
)
from providers.http import RawResponse
from providers.youtube import PROVIDERS
from providers.youtube.analytics import KIND_REPORT, AudienceReport
from providers.youtube.base import KIND_VIDEOS, uploads_playlist_for
from providers.youtube.comments import YouTubeComment
from providers.youtube.crawler import (
    YouTubeCrawler,
    reparse_channels,
    reparse_listing,
    reparse_videos,
)
from providers.youtube.model import YouTubeChannel, YouTubeVideo
from providers.youtube.shorts import KIND_SHORTS_PAGE, YtShorts
from providers.youtube.social import YouTubeActivity, YouTubeSubscription
from providers.youtube.ytapi import YtApi

CHANNELS = "channels"
VIDEOS = "videos"
COMMENTS = "comments"
ACTIVITIES = "activities"
RELATIONSHIPS = "relationships"
INSIGHTS = "insights"
#: The audience window refresh_yt_profile_insights reads: 90 days up to yesterday (UTC).
INSIGHTS_DAYS = 90


@dataclass(frozen=True)
class ObservedChannel:
    channel: YouTubeChannel
    observed_at: datetime


@dataclass(frozen=True)
class ObservedVideo:
    """A video as one request saw it, with what the request tells about it."""

    video: YouTubeVideo
    observed_at: datetime
    playlist_id: str | None = None
    category: str | None = None
    topic: str | None = None
    keywords: tuple[str, ...] = ()
    #: "short" or "video" as YouTube itself answered (refresh_yt_post_type); None: not asked.
    post_type: str | None = None


@dataclass(frozen=True)
class ObservedComment:
    comment: YouTubeComment
    observed_at: datetime


@dataclass(frozen=True)
class ObservedActivity:
    activity: YouTubeActivity
    observed_at: datetime


@dataclass(frozen=True)
class ObservedSubscription:
    """A channel (the subscriber) subscribing to another: a FOLLOWS relationship."""

    subscription: YouTubeSubscription
    observed_at: datetime


@dataclass(frozen=True)
class ObservedInsights:
    """A channel's audience reports (country, city, gender_age) as one request saw them."""

    channel_id: str
    reports: tuple[AudienceReport, ...]
    observed_at: datetime


def observed_at(raws: Sequence[RawResponse]) -> datetime:
    """When the provider answered (the last response of the fetch)."""
    stamps = [r.fetched_at for r in raws if r.fetched_at]
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else datetime.now(UTC)


def _within(video: YouTubeVideo, start: str | None, end: str | None) -> bool:
    """Published on a day within [start, end] (UTC days, both ends included)."""
    if start is None and end is None:
        return True
    if video.published_at is None:
        return False
    day = video.published_at.astimezone(UTC).date()
    return (start is None or day >= date.fromisoformat(start)) and (
        end is None or day <= date.fromisoformat(end)
    )


#: The listing flows: (item kind, observation type, the param that caps the count).
_LISTINGS: dict[str, tuple[str, Any, str]] = {
    "fetch_yt_post_comments": (COMMENTS, ObservedComment, "max_comments"),
    "refresh_yt_activities": (ACTIVITIES, ObservedActivity, "max_activities"),
    "refresh_yt_profile_relationship": (RELATIONSHIPS, ObservedSubscription, "max_relationship"),
}


def outcome_from(
    flow: str,
    params: dict[str, Any],
    provider: str,
    raws: tuple[RawResponse, ...],
    parsed: Sequence[Any] | None = None,
) -> FlowOutcome:
    """The rows a flow's raw responses make: re-parsed by a backfill, or from what the
    crawler already `parsed` out of those very responses (parsing twice costs ~20%)."""
    seen = observed_at(raws)
    if flow == "refresh_yt_profiles":
        found = parsed if parsed is not None else reparse_channels(raws)
        channels = tuple(ObservedChannel(c, seen) for c in found)
        return FlowOutcome(provider, {CHANNELS: channels}, raws)
    if flow == "refresh_yt_posts_by_search":
        # Only the details answers make rows: search hits lack statistics.
        hits = reparse_videos([r for r in raws if r.kind == KIND_VIDEOS])
        start, end = params.get("start_date"), params.get("end_date")
        keywords = tuple(params["keywords"])
        rows = tuple(
            ObservedVideo(v, seen, category=params.get("categorization"), keywords=keywords)
            for v in hits
            if _within(v, start, end)
        )
        return FlowOutcome(provider, {VIDEOS: rows}, raws)
    if flow in _LISTINGS:
        kind, wrap, limit = _LISTINGS[flow]
        found = parsed if parsed is not None else reparse_listing(raws)
        return FlowOutcome(provider, {kind: tuple(wrap(i, seen) for i in found[: params[limit]])},
                           raws)  # fmt: skip
    if flow == "refresh_yt_profile_insights":
        reports = parsed if parsed is not None else _reparse_reports(raws)
        return FlowOutcome(
            provider, {INSIGHTS: (ObservedInsights(params["channel_id"], tuple(reports), seen),)},
            raws,
        )  # fmt: skip
    if flow == "refresh_yt_posts_by_genre":
        found = reparse_videos([r for r in raws if r.kind == KIND_VIDEOS])
        rows = tuple(ObservedVideo(v, seen, category=params["category"]) for v in found)
        return FlowOutcome(provider, {VIDEOS: rows}, raws)
    if flow == "refresh_yt_post_type":
        shorts = [r for r in raws if r.kind == KIND_SHORTS_PAGE]
        is_short = YtShorts().parse_is_short(shorts[-1])
        kind = "short" if is_short else "video"
        details = reparse_videos([r for r in raws if r.kind == KIND_VIDEOS])
        rows = tuple(ObservedVideo(v, seen, post_type=kind) for v in details)
        return FlowOutcome(provider, {VIDEOS: rows}, raws)
    videos: Sequence[YouTubeVideo] = parsed if parsed is not None else reparse_videos(raws)
    if flow == "refresh_yt_posts":
        rows = tuple(
            ObservedVideo(
                v, seen, playlist_id=params.get("playlist_id"), category=params.get("category"),
                topic=params.get("topic"),
            )
            for v in videos
        )  # fmt: skip
    elif flow == "refresh_yt_posts_by_channel_id":
        dates = params.get("filter") or {}
        start, end = dates.get("start_date"), dates.get("end_date")
        rows = tuple(ObservedVideo(v, seen) for v in videos if _within(v, start, end))
    elif flow == "refresh_yt_posts_by_playlist_id":
        playlist = uploads_playlist_for(params["channel_id"])
        rows = tuple(ObservedVideo(v, seen, playlist_id=playlist) for v in videos)
    else:
        raise ValueError(f"not a YouTube flow: {flow}")
    return FlowOutcome(provider, {VIDEOS: rows}, raws)


def _reparse_reports(raws: Sequence[RawResponse]) -> list[AudienceReport]:
    analytics = PROVIDERS["ytapi"]
    assert isinstance(analytics, YtApi)
    return [analytics.parse_report(r) for r in raws if r.kind == KIND_REPORT]


# -- handlers: fetch, then build the outcome from the raw responses -----------------------


async def refresh_yt_profiles(crawler: YouTubeCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.channels(params["channel_ids"])
    return outcome_from(
        "refresh_yt_profiles", params, fetched.provider, tuple(fetched.raw), fetched.value
    )


async def refresh_yt_posts(crawler: YouTubeCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.videos(params["post_ids"])
    return outcome_from(
        "refresh_yt_posts", params, fetched.provider, tuple(fetched.raw), fetched.value
    )


async def refresh_yt_posts_by_channel_id(
    crawler: YouTubeCrawler, params: dict[str, Any]
) -> FlowOutcome:
    # Uploads come newest first: the date filter keeps those of max_posts within its days.
    fetched = await crawler.channel_videos(params["channel_id"], params["max_posts"])
    return outcome_from(
        "refresh_yt_posts_by_channel_id", params, fetched.provider, tuple(fetched.raw),
        fetched.value,
    )  # fmt: skip


async def refresh_yt_posts_by_playlist_id(
    crawler: YouTubeCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.channel_videos(params["channel_id"], params["max_posts"])
    return outcome_from(
        "refresh_yt_posts_by_playlist_id", params, fetched.provider, tuple(fetched.raw),
        fetched.value,
    )  # fmt: skip


async def refresh_yt_posts_by_search(
    crawler: YouTubeCrawler, params: dict[str, Any]
) -> FlowOutcome:
    raws: list[RawResponse] = []
    ids: list[str] = []
    provider = ""
    for keyword in params["keywords"]:
        found = await crawler.search(keyword, params["max_results"])
        raws += found.raw
        provider = provider or found.provider
        ids += [r.video_id for r in found.value if r.video_id and r.video_id not in ids]
    if ids:
        details = await crawler.videos(ids)
        raws += details.raw
        provider = details.provider
    return outcome_from("refresh_yt_posts_by_search", params, provider, tuple(raws))


async def refresh_yt_post_type(crawler: YouTubeCrawler, params: dict[str, Any]) -> FlowOutcome:
    """The video's details, and whether YouTube serves it as a Short (its own answer)."""
    details = await crawler.videos([params["post_id"]])
    short = await crawler.is_short(params["post_id"])
    raws = (*details.raw, *short.raw)
    return outcome_from("refresh_yt_post_type", params, details.provider, raws)


async def fetch_yt_post_comments(crawler: YouTubeCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.comments(params["shortcode"], params["max_comments"])
    return outcome_from(
        "fetch_yt_post_comments", params, fetched.provider, tuple(fetched.raw), fetched.value
    )


async def refresh_yt_posts_by_genre(crawler: YouTubeCrawler, params: dict[str, Any]) -> FlowOutcome:
    found = await crawler.genre(params["category"], params.get("language"), params["max_results"])
    raws = list(found.raw)
    ids = [r.video_id for r in found.value if r.video_id]
    provider = found.provider
    if ids:
        details = await crawler.videos(ids)
        raws += details.raw
        provider = details.provider
    return outcome_from("refresh_yt_posts_by_genre", params, provider, tuple(raws))


async def refresh_yt_profile_insights(
    crawler: YouTubeCrawler, params: dict[str, Any]
) -> FlowOutcome:
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=INSIGHTS_DAYS - 1)
    fetched = await crawler.insights(params["channel_id"], start, end)
    return outcome_from(
        "refresh_yt_profile_insights", params, fetched.provider, tuple(fetched.raw), fetched.value
    )


async def refresh_yt_activities(crawler: YouTubeCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.activities(params["channel_id"], params["max_activities"])
    return outcome_from(
        "refresh_yt_activities", params, fetched.provider, tuple(fetched.raw), fetched.value
    )


async def refresh_yt_profile_relationship(
    crawler: YouTubeCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.subscriptions(params["channel_id"], params["max_relationship"])
    return outcome_from(
        "refresh_yt_profile_relationship", params, fetched.provider, tuple(fetched.raw),
        fetched.value,
    )  # fmt: skip


HANDLERS: dict[str, FlowHandler] = {
    "refresh_yt_activities": refresh_yt_activities,
    "refresh_yt_profile_insights": refresh_yt_profile_insights,
    "refresh_yt_posts_by_genre": refresh_yt_posts_by_genre,
    "refresh_yt_profile_relationship": refresh_yt_profile_relationship,
    "fetch_yt_post_comments": fetch_yt_post_comments,
    "refresh_yt_post_type": refresh_yt_post_type,
    "refresh_yt_profiles": refresh_yt_profiles,
    "refresh_yt_posts": refresh_yt_posts,
    "refresh_yt_posts_by_channel_id": refresh_yt_posts_by_channel_id,
    "refresh_yt_posts_by_playlist_id": refresh_yt_posts_by_playlist_id,
    "refresh_yt_posts_by_search": refresh_yt_posts_by_search,
}


def write_youtube(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    channels = [(c, o.provider) for o in outcomes for c in o.of(CHANNELS)]
    videos = [(v, o.provider) for o in outcomes for v in o.of(VIDEOS)]
    upsert_youtube(conn, channels, videos, publish=not ctx.rebuild)
    comments = [(c, o.provider) for o in outcomes for c in o.of(COMMENTS)]
    upsert_comments(conn, comments, publish=not ctx.rebuild)
    activities = [(a, o.provider) for o in outcomes for a in o.of(ACTIVITIES)]
    upsert_activities(conn, activities)
    follows = [(r, o.provider) for o in outcomes for r in o.of(RELATIONSHIPS)]
    upsert_relationships(conn, follows, publish=not ctx.rebuild)
    insights = [(i, o.provider) for o in outcomes for i in o.of(INSIGHTS)]
    upsert_insights(conn, insights)


def reparse_youtube(record: dict[str, Any]) -> FlowOutcome:
    raw = raw_responses(record)
    return outcome_from(record["flow"], record["params"], record["provider"], raw)


def _target(params: dict[str, Any]) -> str | None:
    """The per-target rate limit keys on the one channel a request is about."""
    channel = params.get("channel_id")
    return channel if isinstance(channel, str) else None


PIPELINE = FamilyPipeline(
    family="youtube",
    kinds=(CHANNELS, VIDEOS, COMMENTS, ACTIVITIES, RELATIONSHIPS, INSIGHTS),
    handlers=HANDLERS,
    write=write_youtube,
    reparse=reparse_youtube,
    target_of=_target,
)
