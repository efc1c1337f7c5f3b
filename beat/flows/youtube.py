"""YouTube flows (the original's names and params): channels and videos, by id, channel,
playlist or search. Each request lands in youtube_account/youtube_post and the history logs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from beat.flows.base import Family, Flow, FlowParams

ChannelId = Annotated[str, StringConstraints(pattern=r"^UC[A-Za-z0-9_-]{22}$")]
VideoId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{11}$")]
#: Dates as the original's DAGs send them.
Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DateRange(FlowParams):
    start_date: Day | None = None
    end_date: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date is after end_date")
        return self


class ChannelIdsParams(FlowParams):
    # The Data API answers 50 channels a call; a request may name many more.
    channel_ids: list[ChannelId] = Field(min_length=1, max_length=5000)


class VideoIdsParams(FlowParams):
    post_ids: list[VideoId] = Field(min_length=1, max_length=5000)
    playlist_id: ShortText | None = None
    category: ShortText | None = None
    topic: ShortText | None = None


class PostIdParams(FlowParams):
    post_id: VideoId


class PostCommentsParams(FlowParams):
    shortcode: VideoId
    # As the original's fetch_post_comments (Instagram) default.
    max_comments: int = Field(default=1000, ge=1, le=10_000)


class GenreParams(FlowParams):
    #: A YouTube video category id (videoCategoryId), e.g. "10" Music, "20" Gaming.
    category: Annotated[str, StringConstraints(pattern=r"^\d{1,4}$")]
    #: An ISO 639-1 language the results should prefer (relevanceLanguage).
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] | None = None
    max_results: int = Field(default=50, ge=1, le=500)


class ChannelIdParams(FlowParams):
    channel_id: ChannelId


class ActivitiesParams(FlowParams):
    channel_id: ChannelId
    max_activities: int = Field(default=50, ge=1, le=10_000)


class RelationshipParams(FlowParams):
    channel_id: ChannelId
    max_relationship: int = Field(default=50, ge=1, le=10_000)


class ChannelPostsParams(FlowParams):
    channel_id: ChannelId
    filter: DateRange | None = None
    max_posts: int = Field(default=50, ge=1, le=5000)


class PlaylistPostsParams(FlowParams):
    channel_id: ChannelId
    max_posts: int = Field(default=50, ge=1, le=5000)


class SearchParams(FlowParams):
    job_id: str | int | None = None
    keywords: list[Keyword] = Field(min_length=1, max_length=50)
    start_date: Day | None = None
    end_date: Day | None = None
    categorization: ShortText | None = None
    frequency: ShortText | None = None
    max_results: int = Field(default=50, ge=1, le=500)


ObjectKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/=-]{1,512}$")]


class _ExportInput(FlowParams):
    """Exports take ids, or the key of a CSV already in the object store."""

    @model_validator(mode="after")
    def _one_input(self) -> _ExportInput:
        given = [
            name
            for name, value in self.model_dump().items()
            if value and (name.endswith("_ids") or name.endswith("_path") or name == "keywords")
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of the id list or the *_path of a CSV")
        return self


class ChannelsExportParams(_ExportInput):
    channel_ids: list[ChannelId] | None = Field(default=None, max_length=100_000)
    channels_path: ObjectKey | None = None


class ChannelVideosExportParams(ChannelsExportParams):
    max_posts: int = Field(default=50, ge=1, le=5000)
    start_date: Day | None = None
    end_date: Day | None = None


class AudienceExportParams(ChannelsExportParams):
    """Without dates: the 90 days up to yesterday (UTC)."""

    start_date: Day | None = None
    end_date: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AudienceExportParams:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("start_date is after end_date")
        return self


class PlaylistVideosExportParams(_ExportInput):
    playlist_ids: list[ShortText] | None = Field(default=None, max_length=100_000)
    playlists_path: ObjectKey | None = None
    max_posts: int = Field(default=50, ge=1, le=5000)
    start_date: Day | None = None
    end_date: Day | None = None


class KeywordVideosExportParams(_ExportInput):
    keywords: list[Keyword] | None = Field(default=None, max_length=1000)
    keywords_path: ObjectKey | None = None
    max_results: int = Field(default=50, ge=1, le=500)
    start_date: Day | None = None
    end_date: Day | None = None


class VideoDetailsExportParams(_ExportInput):
    video_ids: list[VideoId] | None = Field(default=None, max_length=1_000_000)
    videos_path: ObjectKey | None = None


FAMILIES = (
    Family(
        name="youtube",
        platform="YOUTUBE",
        job_name="youtube_batch_job",
        sensor_name="youtube_batch_sensor",
    ),
    # Exports run for minutes: a family (sensor, job, runs) of their own, so they never hold
    # up the profile and video refreshes.
    Family(
        name="youtube_exports",
        platform="YOUTUBE",
        job_name="youtube_exports_job",
        sensor_name="youtube_exports_sensor",
    ),
)


def _flow(
    name: str, fetch_type: str, params: type[FlowParams], description: str, family: str = "youtube"
) -> Flow:
    return Flow(name, "YOUTUBE", family, fetch_type, params, description)


def _export(name: str, fetch_type: str, params: type[FlowParams], description: str) -> Flow:
    return _flow(name, fetch_type, params, description + " CSV + Parquet.", "youtube_exports")


FLOWS = (
    _flow(
        "refresh_yt_profiles",
        "channel",
        ChannelIdsParams,
        "Channels by id, 50 ids a Data API call.",
    ),
    _flow(
        "refresh_yt_posts",
        "videos",
        VideoIdsParams,
        "Videos by id (tagged with the playlist, category and topic given).",
    ),
    _flow(
        "refresh_yt_posts_by_channel_id",
        "channel_video_ids",
        ChannelPostsParams,
        "A channel's latest uploads (max_posts), optionally published within filter's dates.",
    ),
    _flow(
        "refresh_yt_posts_by_playlist_id",
        "channel_video_ids",
        PlaylistPostsParams,
        "A channel's uploads playlist, newest first (max_posts).",
    ),
    _flow(
        "refresh_yt_posts_by_search",
        "search",
        SearchParams,
        "Videos found by each keyword, published within the dates, with full details.",
    ),
    _flow(
        "refresh_yt_post_type",
        "post_type",
        PostIdParams,
        "A video, marked short or video by what youtube.com/shorts/{id} answers.",
    ),
    _flow(
        "fetch_yt_post_comments",
        "comments",
        PostCommentsParams,
        "A video's newest top-level comments (max_comments), each a COMMENT activity.",
    ),
    _flow(
        "refresh_yt_posts_by_genre",
        "genre",
        GenreParams,
        "The most viewed videos of a category (max_results), the language's first, with details.",
    ),
    _flow(
        "refresh_yt_profile_insights",
        "insights",
        ChannelIdParams,
        "A channel's audience by country, city and gender/age over the last 90 days (YouTube "
        "Analytics, through the owner's own ytapi grant).",
    ),
    _flow(
        "refresh_yt_activities",
        "activities",
        ActivitiesParams,
        "A channel's activity feed (uploads, playlist additions, ...), newest first.",
    ),
    _flow(
        "refresh_yt_profile_relationship",
        "subscriptions",
        RelationshipParams,
        "The channels a channel subscribes to (max_relationship), each a FOLLOWS relationship.",
    ),
    _export("fetch_channels_csv", "channel", ChannelsExportParams, "Channels by id."),
    _export(
        "fetch_channel_videos_csv",
        "channel_video_ids",
        ChannelVideosExportParams,
        "Each channel's latest uploads (max_posts), within the dates.",
    ),
    _export(
        "fetch_playlist_videos_csv",
        "channel_video_ids",
        PlaylistVideosExportParams,
        "Each uploads playlist's videos (max_posts), within the dates.",
    ),
    _export(
        "fetch_keyword_videos_csv",
        "search",
        KeywordVideosExportParams,
        "Videos each keyword finds (max_results), within the dates.",
    ),
    _export("fetch_video_details_csv", "videos", VideoDetailsExportParams, "Videos by id."),
    _export(
        "fetch_channel_demographic_csv",
        "insights",
        AudienceExportParams,
        "Each channel's viewers by age group and gender (YouTube Analytics, the owner's grant).",
    ),
    _export(
        "fetch_channel_audience_geography_csv",
        "insights",
        AudienceExportParams,
        "Each channel's views by country (YouTube Analytics, the owner's grant).",
    ),
)
