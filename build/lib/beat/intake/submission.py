"""One validator for every way a scrape request arrives (HTTP API, CLI, launchpad)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from beat.flows import Flow, FlowRejected, get_flow, platform_of, validate_params


class SubmissionBody(BaseModel):
    """The original POST body ({flow, platform, params}) plus the queue's own knobs."""

    model_config = ConfigDict(extra="forbid")

    flow: str | None = None
    platform: str | None = None
    params: dict[str, Any]
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int = Field(default=1, ge=0, le=100, strict=True)
    expires_at: datetime | None = None
    source: str | None = Field(default=None, max_length=100)


@dataclass(frozen=True)
class Submission:
    flow: Flow
    params: dict[str, Any]
    platform: str
    idempotency_key: str | None
    priority: int
    expires_at: datetime | None
    source: str | None
    account_id: str | None


def parse_submission(flow_name: str, body: Any, *, account_id: str | None = None) -> Submission:
    """Validate a request against the flow registry; raise FlowRejected naming the problem."""
    flow = get_flow(flow_name)
    if not isinstance(body, dict):
        raise FlowRejected("request body must be a JSON object with a 'params' object")
    try:
        parsed = SubmissionBody.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise FlowRejected(f"{where}: {first['msg']}") from None
    if parsed.flow is not None and parsed.flow != flow.name:
        raise FlowRejected(f"body names flow {parsed.flow!r} but the URL names {flow.name!r}")
    params = validate_params(flow, parsed.params)
    platform = platform_of(flow, params)
    if parsed.platform is not None and parsed.platform.upper() != platform:
        raise FlowRejected(f"flow {flow.name} is on platform {platform}, not {parsed.platform!r}")
    expires_at = parsed.expires_at
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise FlowRejected("expires_at needs a timezone, e.g. 2026-01-01T00:00:00Z")
        if expires_at <= datetime.now(UTC):
            raise FlowRejected("expires_at is in the past")
    return Submission(
        flow=flow,
        params=params,
        platform=platform,
        idempotency_key=parsed.idempotency_key,
        priority=parsed.priority,
        expires_at=expires_at,
        source=parsed.source,
        account_id=account_id,
    )
