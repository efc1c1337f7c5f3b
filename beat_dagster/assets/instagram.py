"""Instagram: profiles and posts (one batch family); followers, following, likes and
comments listings (a second family with its own sensor and job, so long listings never hold
up profile refreshes)."""

import dagster as dg

from beat.flows import FAMILIES
from beat.pipeline import instagram, instagram_activity
from beat_dagster.assets.batches import build_batch_assets


def _crawler(resource, session, credentials, hook, _objects):  # type: ignore[no-untyped-def]
    return resource.crawler(session, credentials, hook)


PROFILES_ASSET = dg.AssetKey("instagram_profiles")
POSTS_ASSET = dg.AssetKey("instagram_posts")

instagram_batch, instagram_batch_job = build_batch_assets(
    FAMILIES["instagram"],
    instagram.PIPELINE,
    {
        instagram.PROFILES: dg.AssetSpec(
            PROFILES_ASSET,
            description="Instagram accounts (table instagram_account).",
            group_name="instagram",
            kinds={"sql"},
        ),
        instagram.POSTS: dg.AssetSpec(
            POSTS_ASSET,
            description="Instagram posts (table instagram_post).",
            group_name="instagram",
            kinds={"sql"},
        ),
    },
    _crawler,
)

instagram_activity_batch, instagram_activity_batch_job = build_batch_assets(
    FAMILIES["instagram_activity"],
    instagram_activity.PIPELINE,
    {
        instagram_activity.RELATIONSHIPS: dg.AssetSpec(
            "instagram_profile_relationships",
            description=(
                "Who follows whom: followers listings of Instagram accounts "
                "(table profile_relationship_log)."
            ),
            group_name="instagram",
            kinds={"sql"},
            # A listing is about an account the profiles asset describes.
            deps=[PROFILES_ASSET],
        ),
        instagram_activity.ACTIVITIES: dg.AssetSpec(
            "instagram_post_activity",
            description=("Who liked or commented Instagram posts (table post_activity_log)."),
            group_name="instagram",
            kinds={"sql"},
            deps=[POSTS_ASSET],
        ),
    },
    _crawler,
)
