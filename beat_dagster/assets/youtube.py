"""YouTube channels and videos: one batch run materializes today's partition of both."""

import dagster as dg

from beat.flows import FAMILIES
from beat.pipeline import exports
from beat.pipeline.youtube import (
    ACTIVITIES,
    CHANNELS,
    COMMENTS,
    INSIGHTS,
    PIPELINE,
    RELATIONSHIPS,
    VIDEOS,
)
from beat_dagster.assets.batches import build_batch_assets

youtube_batch, youtube_batch_job = build_batch_assets(
    FAMILIES["youtube"],
    PIPELINE,
    {
        CHANNELS: dg.AssetSpec(
            "youtube_channels",
            description="YouTube channels (table youtube_account; history in profile_log).",
            group_name="youtube",
            kinds={"sql"},
        ),
        VIDEOS: dg.AssetSpec(
            "youtube_videos",
            description="YouTube videos and shorts (table youtube_post; history in post_log).",
            group_name="youtube",
            kinds={"sql"},
        ),
        COMMENTS: dg.AssetSpec(
            "youtube_comments",
            description="Top-level comments on YouTube videos (table youtube_comment; each one "
            "a COMMENT post_activity_log_events).",
            group_name="youtube",
            kinds={"sql"},
            deps=["youtube_videos"],
        ),
        ACTIVITIES: dg.AssetSpec(
            "youtube_activities",
            description="YouTube channels' activity feeds: uploads, playlist additions, ... "
            "(table youtube_activity).",
            group_name="youtube",
            kinds={"sql"},
            deps=["youtube_channels"],
        ),
        RELATIONSHIPS: dg.AssetSpec(
            "youtube_relationships",
            description="Which channels a channel subscribes to, as FOLLOWS relationships "
            "(table youtube_relationship; profile_relationship_log_events).",
            group_name="youtube",
            kinds={"sql"},
            deps=["youtube_channels"],
        ),
        INSIGHTS: dg.AssetSpec(
            "youtube_channel_insights",
            description="YouTube channels' audience by country, city and gender/age, from "
            "YouTube Analytics with the owner's grant (table youtube_channel_insights).",
            group_name="youtube",
            kinds={"sql"},
            deps=["youtube_channels"],
        ),
    },
    lambda resource, session, credentials, hook, _objects: resource.youtube(
        session, credentials, hook
    ),
)

# The CSV exports: a family of their own (long runs must not hold up refreshes); each run
# writes its exports' files to the object store.
youtube_exports, youtube_exports_job = build_batch_assets(
    FAMILIES["youtube_exports"],
    exports.PIPELINE,
    {
        exports.EXPORTS: dg.AssetSpec(
            "youtube_exports",
            description="YouTube CSV exports with Parquet twins, under exports/youtube/ in the "
            "object store (rows = export files written).",
            group_name="youtube",
            kinds={"csv", "parquet"},
        )
    },
    lambda resource, session, credentials, hook, objects: exports.ExportTools(
        resource.youtube(session, credentials, hook), objects
    ),
)
