"""The flow registry: the one table of truth for what a scrape request may ask for.

Each flow declares its platform, its params model, the provider fetch chain it uses and
the asset family whose sensor claims it; each platform's flows live in their own module
(`beat/flows/instagram.py`, ...) and are gathered here. Intake (HTTP and CLI), the sensors,
the batch runs and the docs all read this table; nothing else lists flow names.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from beat.flows import gpt, instagram, media, shopify, youtube
from beat.flows.base import Family, Flow, FlowParams

# One line per platform module: each declares its families and flows next to their params.
_MODULES = (instagram, media, youtube, shopify, gpt)

FAMILIES: dict[str, Family] = {f.name: f for module in _MODULES for f in module.FAMILIES}
FLOWS: dict[str, Flow] = {f.name: f for module in _MODULES for f in module.FLOWS}

__all__ = ["FAMILIES", "FLOWS", "Family", "Flow", "FlowParams", "FlowRejected", "get_flow"]


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
