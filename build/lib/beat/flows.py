"""The flow registry: the one table of truth for what a scrape request may ask for.

Each flow declares its platform, its params model, the provider fetch chain it uses and
the asset family whose sensor claims it. Intake (HTTP and CLI), the sensors, the batch
runs and the docs all read this table; nothing else lists flow names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class FlowParams(BaseModel):
    # strict: a number where a string is expected is a client bug, not something to coerce;
    # extra=forbid: a misspelt param would otherwise be silently ignored.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class HandleParams(FlowParams):
    handle: str = Field(pattern=r"^[A-Za-z0-9._]{1,30}$", description="Instagram username")


class ShortcodeParams(FlowParams):
    shortcode: str = Field(pattern=r"^[A-Za-z0-9_-]{4,64}$", description="Instagram post shortcode")


class AssetUploadParams(FlowParams):
    """The original asset_upload_flow params; `hash` (halfMD5 of the URL) is accepted and
    ignored: beat deduplicates on the URL and on a SHA-256 of the content."""

    entity_type: Literal["POST", "PROFILE"]
    entity_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    asset_type: Literal["IMAGE", "VIDEO"] = "IMAGE"
    original_url: str = Field(pattern=r"^https?://", max_length=4096)
    platform: Literal["INSTAGRAM", "YOUTUBE", "SHOPIFY"]
    hash: int | str | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    platform: str
    family: str
    fetch_type: str
    params_model: type[FlowParams]
    description: str


@dataclass(frozen=True)
class Family:
    """An asset family: one sensor claims its flows, one batch job materializes them."""

    name: str
    platform: str
    job_name: str
    sensor_name: str
    #: Its requests spend the shared provider budget (the global rate limits); media
    #: downloads from CDNs do not.
    spends_provider_budget: bool = True


FAMILIES: dict[str, Family] = {
    "instagram": Family(
        name="instagram",
        platform="INSTAGRAM",
        job_name="instagram_batch_job",
        sensor_name="instagram_batch_sensor",
    ),
    "media": Family(
        name="media",
        platform="MEDIA",
        job_name="media_batch_job",
        sensor_name="media_batch_sensor",
        spends_provider_budget=False,
    ),
}

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
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
}


class FlowRejected(ValueError):
    """A request that names an unknown flow or carries params of the wrong shape."""


def platform_of(flow: Flow, params: dict[str, Any]) -> str:
    """The platform a request is about: media flows name it in their params."""
    return str(params.get("platform", flow.platform)) if flow.family == "media" else flow.platform


def flows_of_family(family: str) -> list[str]:
    return sorted(name for name, flow in FLOWS.items() if flow.family == family)


def get_flow(name: str) -> Flow:
    try:
        return FLOWS[name]
    except KeyError:
        known = ", ".join(sorted(FLOWS))
        raise FlowRejected(f"unknown flow {name!r}; known flows: {known}") from None


def validate_params(flow: Flow, params: Any) -> dict[str, Any]:
    """Return the params as the flow's model normalizes them, or raise FlowRejected."""
    if not isinstance(params, dict):
        raise FlowRejected(f"params of {flow.name} must be a JSON object")
    try:
        return flow.params_model.model_validate(params).model_dump()
    except ValidationError as exc:
        raise FlowRejected(f"invalid params for {flow.name}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "params"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
