"""Instagram flows: profiles, posts and what hangs off them."""

from __future__ import annotations

from pydantic import Field

from beat.flows.base import Family, Flow, FlowParams


class HandleParams(FlowParams):
    handle: str = Field(pattern=r"^[A-Za-z0-9._]{1,30}$", description="Instagram username")


class ShortcodeParams(FlowParams):
    shortcode: str = Field(pattern=r"^[A-Za-z0-9_-]{4,64}$", description="Instagram post shortcode")


FAMILIES = (
    Family(
        name="instagram",
        platform="INSTAGRAM",
        job_name="instagram_batch_job",
        sensor_name="instagram_batch_sensor",
    ),
)

FLOWS = (
    Flow(
        name="refresh_profile_by_handle",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="profile_by_handle",
        params_model=HandleParams,
        description="Profile by handle, then its posts of the last 30 days (at most 50).",
    ),
    Flow(
        name="refresh_post_by_shortcode",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="post_by_shortcode",
        params_model=ShortcodeParams,
        description="One post by its shortcode.",
    ),
)
