"""Current stories of a sandbox account, as Instagram's mobile ``feed/user/{pk}/story`` answers
(``{"reel": {"id", "user", "items": [...]}}``, ``reel`` null without stories): a public
account has 0 to 3 stories, derived from its newest posts, each with its own numeric id.
The same stories answer Graph's ``business_discovery`` ``stories{...}`` edge as IG Media
objects (``media_product_type`` STORY, permalink ``/stories/{handle}/{story id}/``)."""

from __future__ import annotations

from typing import Any

from sandbox import instagram_rapid
from sandbox.data import ProfileFacts, graph_timestamp


def story_ids(facts: ProfileFacts) -> list[str]:
    """The ids of the account's current stories (tests recompute them)."""
    count = 0 if facts.is_private else int(facts.pk[-1]) % 4
    posts = [p for p in facts.posts if p.kind != "carousel"][:count]
    return [f"{p.post_id}{i}7" for i, p in enumerate(posts)]


def story_reel(facts: ProfileFacts, reference: int) -> dict[str, Any]:
    ids = story_ids(facts)
    if not ids:
        return {"reel": None, "status": "ok"}
    posts = [p for p in facts.posts if p.kind != "carousel"][: len(ids)]
    items = []
    for i, (story_id, post) in enumerate(zip(ids, posts, strict=True)):
        item = instagram_rapid._mobile_item(facts, post)
        item.update({
            "pk": story_id, "id": f"{story_id}_{facts.pk}", "code": f"S{story_id}",
            "product_type": "story", "taken_at": reference - 3600 * (i + 1),
            "caption": None, "like_count": None, "comment_count": None,
        })  # fmt: skip
        items.append(item)
    user = instagram_rapid._short_user(facts)
    return {"reel": {"id": facts.pk, "user": user, "items": items}, "status": "ok"}


def graph_story_id(story_id: str) -> str:
    """The story's Graph media id (Graph ids differ from Instagram's pk; tests recompute it)."""
    return f"18{story_id}"


def graph_stories(facts: ProfileFacts, reference: int) -> dict[str, Any]:
    """The ``stories`` edge of business_discovery: ``{"data": [IG Media]}``."""
    ids = story_ids(facts)
    posts = [p for p in facts.posts if p.kind != "carousel"][: len(ids)]
    data = []
    for i, (story_id, post) in enumerate(zip(ids, posts, strict=True)):
        item: dict[str, Any] = {
            "id": graph_story_id(story_id), "username": facts.handle,
            "media_type": "VIDEO" if post.kind == "video" else "IMAGE",
            "media_product_type": "STORY",
            "permalink": f"https://www.instagram.com/stories/{facts.handle}/{story_id}/",
            "timestamp": graph_timestamp(reference - 3600 * (i + 1)),
        }  # fmt: skip
        if post.kind == "video":
            item.update({"media_url": post.video_url, "thumbnail_url": post.display_url})
        else:
            item["media_url"] = post.display_url
        data.append(item)
    return {"data": data}
