"""Graph insights answers of the sandbox, in Graph's shape (Meta's Instagram Graph API
reference examples for IG Media Insights and IG User Insights; see
tests/fixtures/payloads/graphapi/manifest.md):

* ``/{media_id}/insights?metric=a,b``: ``{"data": [{"name", "period": "lifetime",
  "values": [{"value": n}], "title", "description", "id"}]}``; from v22 on, the metrics Meta
  retired on media (impressions, plays, engagement, video_views) are refused with code 100
  as Graph refuses them.
* ``/{user_id}/insights?metric=<demographics>&period=lifetime&timeframe=last_90_days
  &metric_type=total_value&breakdown=<b>``: ``total_value.breakdowns[0]`` with
  ``dimension_keys`` and ``results[].dimension_values``.

Numbers are a deterministic function of the node and metric, so tests can recompute them.
"""

from __future__ import annotations

import hashlib
from typing import Any

RETIRED_MEDIA_METRICS = frozenset({"impressions", "plays", "engagement", "video_views"})
MEDIA_METRICS = frozenset({
    "likes", "reach", "impressions", "comments", "engagement", "saved", "shares", "plays",
    "total_interactions", "video_views", "views", "ig_reels_avg_watch_time",
    "replies", "follows", "profile_visits", "navigation",
})  # fmt: skip
NAVIGATION_ACTIONS = ("tap_forward", "tap_back", "tap_exit", "swipe_forward")
DEMOGRAPHIC_METRICS = frozenset(
    {"follower_demographics", "reached_audience_demographics", "engaged_audience_demographics"}
)
BREAKDOWN_VALUES: dict[str, tuple[str, ...]] = {
    "country": ("US", "GB", "IN", "BR"),
    "city": ("London, England", "Mumbai, Maharashtra", "New York, New York"),
    "age": ("18-24", "25-34", "35-44"),
    "gender": ("F", "M", "U"),
}


def number(*parts: str, low: int = 1, high: int = 5000) -> int:
    """A stable count for these parts (the same every run, different per metric)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


def _major(version: str) -> int:
    head = version.lstrip("v").split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def media_insights(
    media_id: str, metrics: list[str], version: str, breakdown: str = ""
) -> tuple[int, dict[str, Any]]:
    """(status, body) of a media insights call; ``navigation`` by
    ``story_navigation_action_type`` answers in ``total_value.breakdowns`` as Graph does."""
    if breakdown:
        if breakdown != "story_navigation_action_type" or metrics != ["navigation"]:
            return 400, _error("(#100) The breakdown story_navigation_action_type is only "
                               "available for the navigation metric")  # fmt: skip
        return 200, {"data": [_navigation(media_id)]}
    for metric in metrics:
        if metric not in MEDIA_METRICS:
            return 400, _error(f"(#100) metric[0] must be one of the following values: "
                               f"{', '.join(sorted(MEDIA_METRICS))}")  # fmt: skip
        if metric in RETIRED_MEDIA_METRICS and _major(version) >= 22:
            return 400, _error(
                f"(#100) Starting from version v22.0 and above, the {metric} metric is no "
                "longer supported for this media."
            )
    data = [
        {
            "name": metric,
            "period": "lifetime",
            "values": [{"value": number(media_id, metric)}],
            "title": metric.replace("_", " ").capitalize(),
            "description": f"Lifetime {metric.replace('_', ' ')} of this media.",
            "id": f"{media_id}/insights/{metric}/lifetime",
        }
        for metric in metrics
    ]
    return 200, {"data": data}


def _navigation(media_id: str) -> dict[str, Any]:
    results = [
        {"dimension_values": [action], "value": number(media_id, "navigation", action, high=300)}
        for action in NAVIGATION_ACTIONS
    ]
    return {
        "name": "navigation",
        "period": "lifetime",
        "title": "Navigation",
        "description": "Total number of actions taken from your story.",
        "total_value": {
            "value": sum(r["value"] for r in results),
            "breakdowns": [
                {"dimension_keys": ["story_navigation_action_type"], "results": results}
            ],
        },
        "id": f"{media_id}/insights/navigation/lifetime",
    }


def user_insights(user_id: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
    metric = query.get("metric", "")
    if metric not in DEMOGRAPHIC_METRICS:
        return 400, _error("(#100) metric[0] must be one of the demographic metrics")
    if query.get("metric_type") != "total_value" or query.get("period") != "lifetime":
        return 400, _error("(#100) demographic metrics need metric_type=total_value and "
                           "period=lifetime")  # fmt: skip
    keys = [k.strip() for k in query.get("breakdown", "").split(",")]
    if not keys or any(k not in BREAKDOWN_VALUES for k in keys):
        return 400, _error("(#100) breakdown must be one of age, city, country, gender")
    timeframe = query.get("timeframe", "")
    if metric != "follower_demographics" and not timeframe:
        return 400, _error("(#100) timeframe is required for this metric")
    results = []
    combos: list[list[str]] = [[]]
    for key in keys:
        combos = [[*c, v] for c in combos for v in BREAKDOWN_VALUES[key]]
    for values in combos:
        results.append(
            {"dimension_values": values, "value": number(user_id, metric, *values, high=900)}
        )
    return 200, {
        "data": [
            {
                "name": metric,
                "period": "lifetime",
                "title": metric.replace("_", " ").capitalize(),
                "description": "The demographic characteristics of the audience.",
                "total_value": {"breakdowns": [{"dimension_keys": keys, "results": results}]},
                "id": f"{user_id}/insights/{metric}/lifetime",
            }
        ]
    }


def _error(message: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": 100,
            "fbtrace_id": "AbCdSandboxTrace02",
        }
    }
