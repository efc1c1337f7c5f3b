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
)
