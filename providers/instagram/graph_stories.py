"""A creator's own media and stories through Graph ``business_discovery``, read with the
creator's own token (the original's ``refresh_stories_posts``: 90 days or 150 posts).

The original's "stories variant" of business_discovery: the same profile and media fields
(``media_product_type`` included, so a story or a reel is told from a feed video) plus the
``stories{...}`` edge on the first request; later pages ask ``media.after(c)`` only. Paging
follows ``cursors.after`` (Graph sends no ``next`` link on this edge); the crawler's profile
walk stops at the age cut-off or the post cap.

A story becomes a post of post_type ``story`` keyed by the last segment of its permalink
(``https://www.instagram.com/stories/{handle}/{story pk}/``): the story's own id, as the
stories listing keys them, so both flows write the same row for one story.

Fixture: tests/fixtures/payloads/graphapi/stories_page.json (manifest.json gives its source).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import expect_dict, opt_dict, opt_id, opt_list, opt_str
from providers.instagram.graphapi import MEDIA_FIELDS, PROFILE_FIELDS, GraphApi
from providers.model import InstagramPost, ProfileWithPosts

#: The original's limits for this flow.
MAX_POSTS = 150
MAX_AGE_DAYS = 90.0

STORY_FIELDS = (
    "id,username,media_type,media_product_type,media_url,thumbnail_url,timestamp,permalink"
)


class GraphStories(GraphApi):
    """business_discovery with the stories edge. Its answers are stored under ``graphapi``;
    re-parsing them needs this class, not the registry's plain ``GraphApi``."""

    name: ClassVar[str] = "graphapi"

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        fields = (
            f"business_discovery.username({handle}){{{PROFILE_FIELDS},"
            f"media.limit({self.page_size}){{{MEDIA_FIELDS}}},stories{{{STORY_FIELDS}}}}}"
        )
        return self._request(credential, base_url, fields)

    def parse_stories(self, raw: RawResponse) -> tuple[InstagramPost, ...]:
        """The stories of a first answer (the one that asked the edge), as story posts."""
        discovery = self._discovery(raw)
        where = "business_discovery"
        # The same owner the profile parse gives: ig_id (deprecated, often absent), else id.
        profile_id = opt_id(discovery, "ig_id", where) or opt_id(discovery, "id", where)
        handle = (opt_str(discovery, "username", where) or "").lower() or None
        edge: dict[str, Any] | None = opt_dict(discovery, "stories", where)
        if edge is None:
            return ()
        return tuple(
            self._post(
                expect_dict(item, f"{where}.stories.data[{i}]"),
                f"{where}.stories.data[{i}]",
                profile_id,
                handle,
            )
            for i, item in enumerate(opt_list(edge, "data", f"{where}.stories"))
        )


def with_stories(found: ProfileWithPosts, stories: Sequence[InstagramPost]) -> ProfileWithPosts:
    """The media then the stories; a story already among the media is not repeated."""
    seen = {post.shortcode for post in found.posts}
    fresh = tuple(story for story in stories if story.shortcode not in seen)
    return ProfileWithPosts(found.profile, (*found.posts, *fresh))
