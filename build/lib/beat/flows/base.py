"""What a flow and an asset family are; each platform's module declares its own."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class FlowParams(BaseModel):
    # strict: a number where a string is expected is a client bug, not something to coerce;
    # extra=forbid: a misspelt param would otherwise be silently ignored.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


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
