"""Instagram Graph insights, read with the creator's own token (a credential whose handle is
the creator, the original's ``get_enabled_cred_for_handle``).

* Post insights: ``GET {base}/{version}/{media_id}/insights?metric=...`` (lifetime), the metrics
  by post type. Graph v22 retired ``impressions``, ``plays``, ``engagement`` and ``video_views``
  on media; from v22 on their successors (``views``, ``total_interactions``) are asked instead.
* Profile insights: ``GET {base}/{version}/{user_id}/insights?metric=<m>&period=lifetime
  &timeframe=last_90_days&metric_type=total_value&breakdown=<b>`` for follower, reached and
  engaged demographics by country, city and "gender,age". The original stored reached under
  engaged and engaged under reached; here each metric lands under its own name.

Fixtures: tests/fixtures/payloads/graphapi/ (manifest.md says where each answer is from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.credentials import Credential
from providers.errors import CredentialRejected, MalformedResponse
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import expect_dict, load_json, try_json
from providers.instagram.graphapi import graph_error

KIND_POST_INSIGHTS = "post_insights"
KIND_PROFILE_INSIGHTS = "profile_insights_page"
KIND_STORY_INSIGHTS = "story_insights_page"

#: The original's lifetime metrics by post type (Graph before v22).
LEGACY_POST_METRICS: dict[str, tuple[str, ...]] = {
    "image": ("likes", "reach", "impressions", "comments", "engagement", "saved", "shares"),
    "reels": ("plays", "likes", "comments", "reach", "total_interactions", "saved", "shares"),
    "carousel": ("reach", "impressions", "engagement", "saved", "video_views"),
}
#: The same from v22 on (views replaces impressions/plays/video_views, total_interactions
#: replaces engagement).
POST_METRICS: dict[str, tuple[str, ...]] = {
    "image": ("likes", "reach", "views", "comments", "total_interactions", "saved", "shares"),
    "reels": ("views", "likes", "comments", "reach", "total_interactions", "saved", "shares"),
    "carousel": ("reach", "views", "total_interactions", "saved", "likes", "comments", "shares"),
}
#: A story's counters (the original pinned v15), then its navigation broken down by action.
LEGACY_STORY_METRICS = ("impressions", "reach", "replies", "shares", "total_interactions",
                        "follows", "profile_visits")  # fmt: skip
STORY_METRICS = ("views", "reach", "replies", "shares", "total_interactions", "follows",
                 "profile_visits")  # fmt: skip
NAVIGATION_BREAKDOWN = "story_navigation_action_type"
#: A feed video is asked like a reel.
POST_TYPE_ALIASES = {"video": "reels"}

DEMOGRAPHICS = {
    "follower": "follower_demographics",
    "reached": "reached_audience_demographics",
    "engaged": "engaged_audience_demographics",
}
#: Breakdown asked -> the key the stored map uses.
BREAKDOWNS = {"country": "country", "city": "city", "gender,age": "gender_age"}
_GENDERS = {"M": "male", "F": "female", "U": "uncategorized"}


def _major(version: str) -> int:
    digits = version.lstrip("v").split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


def post_metrics(post_type: str, version: str) -> tuple[str, ...]:
    kind = POST_TYPE_ALIASES.get(post_type, post_type)
    table = POST_METRICS if _major(version) >= 22 else LEGACY_POST_METRICS
    if kind not in table:
        raise ValueError(f"no insights for post type {post_type!r}")
    return table[kind]


def story_metrics(version: str) -> tuple[str, ...]:
    return STORY_METRICS if _major(version) >= 22 else LEGACY_STORY_METRICS


def story_insights_requests(
    story_id: str, credential: Credential, base_url: str, version: str
) -> list[ProviderRequest]:
    """The story's counters, then ``navigation`` by ``story_navigation_action_type`` (Graph
    refuses a breakdown the other metrics do not have, so it is its own call)."""
    token, _ = _token(credential)
    url = f"{base_url.rstrip('/')}/{version}/{story_id}/insights"
    return [
        ProviderRequest(method="GET", url=url, params={
            "metric": ",".join(story_metrics(version)), "access_token": token}),
        ProviderRequest(method="GET", url=url, params={
            "metric": "navigation", "breakdown": NAVIGATION_BREAKDOWN, "access_token": token}),
    ]  # fmt: skip


def parse_story_navigation(raw: RawResponse) -> dict[str, int]:
    """``navigation`` (its total) and each action of its breakdown: tap_forward, tap_back,
    tap_exit, swipe_forward, automatic_forward."""
    out: dict[str, int] = {}
    for i, item in enumerate(_data(raw)):
        where = f"body.data[{i}]"
        total = item.get("total_value")
        if not isinstance(total, dict):
            raise MalformedResponse(f"{where}.total_value: expected an object")
        if "value" in total:
            out["navigation"] = _count(total.get("value"), f"{where}.total_value.value")
        for j, part in enumerate(total.get("breakdowns") or []):
            at = f"{where}.total_value.breakdowns[{j}]"
            for k, result in enumerate(expect_dict(part, at).get("results") or []):
                result = expect_dict(result, f"{at}.results[{k}]")
                values = result.get("dimension_values")
                if not isinstance(values, list) or not values:
                    raise MalformedResponse(f"{at}.results[{k}].dimension_values")
                action = str(values[-1]).lower()
                out[action] = _count(result.get("value"), f"{at}.results[{k}].value")
    return out


def _token(credential: Credential) -> tuple[str, str]:
    token, user_id = credential.secret.get("token"), credential.secret.get("user_id")
    if not token or not user_id:
        raise CredentialRejected("graphapi credential needs 'token' and 'user_id'")
    return str(token), str(user_id)


def post_insights_request(
    media_id: str, post_type: str, credential: Credential, base_url: str, version: str
) -> ProviderRequest:
    token, _ = _token(credential)
    return ProviderRequest(
        method="GET",
        url=f"{base_url.rstrip('/')}/{version}/{media_id}/insights",
        params={"metric": ",".join(post_metrics(post_type, version)), "access_token": token},
    )


def profile_insights_requests(
    credential: Credential, base_url: str, version: str
) -> list[tuple[str, str, ProviderRequest]]:
    """(audience, breakdown, request) for each demographic metric and breakdown."""
    token, user_id = _token(credential)
    url = f"{base_url.rstrip('/')}/{version}/{user_id}/insights"
    return [
        (
            audience,
            breakdown,
            ProviderRequest(
                method="GET",
                url=url,
                params={
                    "metric": metric,
                    "period": "lifetime",
                    "timeframe": "last_90_days",
                    "metric_type": "total_value",
                    "breakdown": breakdown,
                    "access_token": token,
                },
            ),
        )
        for audience, metric in DEMOGRAPHICS.items()
        for breakdown in BREAKDOWNS
    ]


def _data(raw: RawResponse) -> list[dict[str, Any]]:
    err = graph_error(raw, try_json(raw))
    if err is not None:
        raise err
    payload = expect_dict(load_json(raw), "body")
    data = payload.get("data")
    if not isinstance(data, list):
        raise MalformedResponse("body.data: expected a list of metrics")
    return [expect_dict(item, f"body.data[{i}]") for i, item in enumerate(data)]


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedResponse(f"{where}: expected a number")
    return int(value)


def parse_post_insights(raw: RawResponse) -> dict[str, int]:
    """{metric name: lifetime value}. Graph sends ``values[0].value``; newer answers may send
    ``total_value.value`` instead."""
    out: dict[str, int] = {}
    for i, item in enumerate(_data(raw)):
        where = f"body.data[{i}]"
        name = item.get("name")
        if not isinstance(name, str):
            raise MalformedResponse(f"{where}.name: expected a string")
        values, total = item.get("values"), item.get("total_value")
        if isinstance(values, list) and values and isinstance(values[0], dict):
            out[name] = _count(values[0].get("value"), f"{where}.values[0].value")
        elif isinstance(total, dict):
            out[name] = _count(total.get("value"), f"{where}.total_value.value")
        else:
            raise MalformedResponse(f"{where}: no values")
    return out


def parse_demographics(raw: RawResponse, breakdown: str) -> dict[str, Any]:
    """One breakdown of one demographic metric as the original's map: {country: n},
    {city: n}, or {male|female|uncategorized: {age: n}}. Dimensions are found by name in
    ``dimension_keys`` (Graph may add ``timeframe`` before them)."""
    wanted = breakdown.split(",")
    out: dict[str, Any] = {}
    for i, item in enumerate(_data(raw)):
        total = item.get("total_value")
        breakdowns = total.get("breakdowns") if isinstance(total, dict) else None
        for j, part in enumerate(breakdowns if isinstance(breakdowns, list) else []):
            where = f"body.data[{i}].total_value.breakdowns[{j}]"
            part = expect_dict(part, where)
            keys = part.get("dimension_keys")
            if not isinstance(keys, list) or not set(wanted) <= set(keys):
                raise MalformedResponse(f"{where}.dimension_keys: expected {breakdown!r}")
            at = [keys.index(k) for k in wanted]
            for k, result in enumerate(part.get("results") or []):
                result = expect_dict(result, f"{where}.results[{k}]")
                values = result.get("dimension_values")
                if not isinstance(values, list) or len(values) != len(keys):
                    raise MalformedResponse(f"{where}.results[{k}].dimension_values")
                count = _count(result.get("value"), f"{where}.results[{k}].value")
                picked = [str(values[n]) for n in at]
                if len(picked) == 1:
                    out[picked[0]] = out.get(picked[0], 0) + count
                else:
                    gender = _GENDERS.get(picked[0].upper(), picked[0].lower())
                    ages = out.setdefault(gender, {})
                    ages[picked[1]] = ages.get(picked[1], 0) + count
    return out


@dataclass(frozen=True)
class PostInsights:
    shortcode: str
    post_id: str
    handle: str
    post_type: str
    metrics: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileInsights:
    """A creator's audience: ``audience[audience][column]`` maps, e.g.
    ``audience["reached"]["city"] == {"London, England": 12}``."""

    handle: str
    graph_user_id: str
    audience: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def assemble_story_insights(
    story_id: str, shortcode: str, handle: str, raws: list[RawResponse]
) -> PostInsights:
    if len(raws) != 2:
        raise MalformedResponse(f"expected 2 story insights answers, got {len(raws)}")
    metrics = {**parse_post_insights(raws[0]), **parse_story_navigation(raws[1])}
    return PostInsights(shortcode, story_id, handle, "story", metrics)


def assemble_profile_insights(
    handle: str, graph_user_id: str, raws: list[RawResponse]
) -> ProfileInsights:
    """The profile insights of stored answers, in the order `profile_insights_requests` asks
    (a backfill re-parses with this)."""
    order = [(a, b) for a in DEMOGRAPHICS for b in BREAKDOWNS]
    if len(raws) != len(order):
        raise MalformedResponse(f"expected {len(order)} insights answers, got {len(raws)}")
    audience: dict[str, dict[str, dict[str, Any]]] = {a: {} for a in DEMOGRAPHICS}
    for (who, breakdown), raw in zip(order, raws, strict=True):
        audience[who][BREAKDOWNS[breakdown]] = parse_demographics(raw, breakdown)
    return ProfileInsights(handle, graph_user_id, audience)
