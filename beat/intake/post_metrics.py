"""A creator's recent-post averages (``post_metrics``) and per-post reach, as the original API
computed them. Pure functions: no database, no clock.

The original's rules, kept because clients compare these numbers with what they stored before:

* recent posts are the latest 12 reels and the latest 12 static posts (image, carousel);
  ``all`` is the 12 newest of those;
* a missing likes / comments / play count counts as 0;
* above four posts, the top two and bottom two are dropped (by likes for static and all, by
  plays for reels) before averaging;
* avg_engagement = 100 * (likes + comments) / (followers * posts);
* a post's reach, when the provider gave none, is estimated: reels
  plays * (0.94 - 0.001*log2 followers), static (7.6 - 0.7*log10 likes) * 0.85 * likes;
* story avg_reach = -0.000025017*F + 1.11*F*|log2(E + 2)|*2/100, rounded, where E is the
  reels' avg_engagement when there are reels, else all posts'.

Where the original left a section empty (no followers, no posts of that kind) every figure is
null here, so each section always has the same five keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

STATIC_TYPES = frozenset({"image", "carousel"})
REELS_TYPE = "reels"
RECENT_PER_KIND = 12
OUTLIERS_DROPPED = 2  # from each end, above 2 * OUTLIERS_DROPPED posts
SECTION_KEYS = ("avg_engagement", "avg_plays", "avg_likes", "avg_comments", "avg_reach")


def estimated_reach(
    post_type: str | None,
    *,
    reach: int | None,
    likes: int | None,
    plays: int | None,
    followers: int | None,
) -> int:
    """The provider's reach, or the original's estimate when it sent none (0 when the
    inputs cannot support one)."""
    plays, likes, followers = plays or 0, likes or 0, followers or 0
    if post_type == REELS_TYPE and (plays == 0 or followers == 0):
        return 0
    if post_type in STATIC_TYPES and likes == 0:
        return 0
    if reach:
        return int(reach)
    if post_type == REELS_TYPE:
        return int(plays * (0.94 - math.log2(followers) * 0.001))
    if likes <= 0:  # the original raised here (log10 of 0) for other post types
        return 0
    return int((7.6 - math.log10(likes) * 0.7) * 0.85 * likes)


def engagement_rate(likes: int | None, comments: int | None, followers: int | None) -> float:
    """100 * (likes + comments) / followers, rounded to 2 places; 0 without followers."""
    if not followers:
        return 0
    return round(((likes or 0) + (comments or 0)) / followers * 100, 2)


def post_metrics(
    followers: int | None, recent_posts: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``{static, reels, story, all}`` for posts shaped as the API answers them
    (``post_type``, ``publish_time``, ``metrics.{likes, comments, play_count, reach}``), given
    in the order the original read them: reels newest first, then static newest first."""
    followers = followers or 0
    posts = [_counts(p) for p in recent_posts]
    newest = sorted(posts, key=lambda p: p["publish_time"] or "", reverse=True)[:RECENT_PER_KIND]
    static = _trimmed([p for p in posts if p["post_type"] in STATIC_TYPES], "likes")
    reels = _trimmed([p for p in posts if p["post_type"] == REELS_TYPE], "play_count")
    every = _trimmed(newest, "likes")

    all_section = _section(every, followers, plays=False, reach=False)
    static_section = _section(static, followers, plays=False, reach=True)
    reels_section = _section(reels, followers, plays=True, reach=True)
    engagement = reels_section["avg_engagement"] or all_section["avg_engagement"] or 0
    story = _empty()
    story["avg_reach"] = 0.0
    if followers > 0 and engagement > 0:
        story["avg_reach"] = round(
            -0.000025017 * followers
            + 1.11 * (followers * abs(math.log(engagement + 2, 2)) * 2 / 100)
        )
    return {"static": static_section, "reels": reels_section, "story": story, "all": all_section}


def _counts(post: Mapping[str, Any]) -> dict[str, Any]:
    metrics = post.get("metrics") or {}
    dimensions = post.get("dimensions") or {}  # the API answers comments as a dimension
    return {
        "post_type": post.get("post_type"),
        "publish_time": str(post.get("publish_time") or ""),
        "likes": metrics.get("likes") or 0,
        "comments": metrics.get("comments") or dimensions.get("comments") or 0,
        "play_count": metrics.get("play_count") or 0,
        "reach": metrics.get("reach") or 0,
    }


def _trimmed(posts: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    ranked = sorted(posts, key=lambda p: p[by], reverse=True)
    if len(ranked) > 2 * OUTLIERS_DROPPED:
        return ranked[OUTLIERS_DROPPED:-OUTLIERS_DROPPED]
    return ranked


def _empty() -> dict[str, Any]:
    return dict.fromkeys(SECTION_KEYS)


def _section(
    posts: list[dict[str, Any]], followers: int, *, plays: bool, reach: bool
) -> dict[str, Any]:
    section = _empty()
    count = len(posts)
    if count == 0 or followers <= 0:
        return section
    likes = sum(p["likes"] for p in posts)
    comments = sum(p["comments"] for p in posts)
    section["avg_engagement"] = 100 * ((likes + comments) / (followers * count))
    section["avg_likes"] = likes / count
    section["avg_comments"] = comments / count
    if plays:
        section["avg_plays"] = sum(p["play_count"] for p in posts) / count
    if reach:
        section["avg_reach"] = sum(p["reach"] for p in posts) / count
    return section
