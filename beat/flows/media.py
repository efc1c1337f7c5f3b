"""Media flows: profile pictures and post media downloaded into the object store."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from beat.flows.base import Family, Flow, FlowParams


class AssetUploadParams(FlowParams):
    """The original asset_upload_flow params; `hash` (halfMD5 of the URL) is accepted and
    ignored: beat deduplicates on the URL and on a SHA-256 of the content."""

    entity_type: Literal["POST", "PROFILE"]
    entity_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    asset_type: Literal["IMAGE", "VIDEO"] = "IMAGE"
    original_url: str = Field(pattern=r"^(?i:https?)://", max_length=4096)  # HTTP:// too
    platform: Literal["INSTAGRAM", "YOUTUBE", "SHOPIFY"]
    hash: int | str | None = None


FAMILIES = (
    Family(
        name="media",
        platform="MEDIA",
        job_name="media_batch_job",
        sensor_name="media_batch_sensor",
        spends_provider_budget=False,
    ),
)

FLOWS = (
    Flow(
        name="asset_upload_flow",
        platform="MEDIA",
        family="media",
        fetch_type="media",
        params_model=AssetUploadParams,
        description="Download one profile picture or post media and store it in S3.",
    ),
    Flow(
        name="asset_upload_flow_stories",
        platform="MEDIA",
        family="media",
        fetch_type="media",
        params_model=AssetUploadParams,
        description="Same as asset_upload_flow, for story media (kept as its own flow).",
    ),
)
