"""Instagram profiles and posts: one batch run materializes today's partition of both."""

import dagster as dg

from beat.flows import FAMILIES
from beat.pipeline.instagram import PIPELINE, POSTS, PROFILES
from beat_dagster.assets.batches import build_batch_assets

instagram_batch, instagram_batch_job = build_batch_assets(
    FAMILIES["instagram"],
    PIPELINE,
    {
        PROFILES: dg.AssetSpec(
            "instagram_profiles",
            description="Instagram accounts (table instagram_account).",
            group_name="instagram",
            kinds={"sql"},
        ),
        POSTS: dg.AssetSpec(
            "instagram_posts",
            description="Instagram posts (table instagram_post).",
            group_name="instagram",
            kinds={"sql"},
        ),
    },
    lambda resource, session, credentials, hook, _objects: resource.crawler(
        session, credentials, hook
    ),
)
