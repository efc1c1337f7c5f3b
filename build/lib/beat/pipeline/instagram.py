"""What each Instagram flow does with the crawler, and how its result becomes rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from providers.crawler import InstagramCrawler
from providers.http import RawResponse
from providers.model import InstagramPost, InstagramProfile, ProfileWithPosts

# Posts of the last 30 days, at most 50, as in the original refresh_profile_by_handle.
MAX_POSTS = 50
MAX_POST_AGE_DAYS = 30


@dataclass(frozen=True)
class FlowOutcome:
    provider: str
    profiles: tuple[InstagramProfile, ...] = ()
    posts: tuple[InstagramPost, ...] = ()
    raw: tuple[RawResponse, ...] = field(default=(), repr=False)

    def summary(self) -> str:
        return f"provider={self.provider} profiles={len(self.profiles)} posts={len(self.posts)}"


def outcome_from(value: Any, provider: str, raw: tuple[RawResponse, ...] = ()) -> FlowOutcome:
    """Turn a crawler value (fresh or re-parsed from raw responses) into rows."""
    if isinstance(value, ProfileWithPosts):
        return FlowOutcome(provider, (value.profile,), tuple(value.posts), raw)
    if isinstance(value, InstagramPost):
        return FlowOutcome(provider, (), (value,), raw)
    raise TypeError(f"unexpected crawler result {type(value).__name__}")


async def refresh_profile_by_handle(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.profile_with_posts(
        params["handle"], max_posts=MAX_POSTS, max_age_days=MAX_POST_AGE_DAYS
    )
    return outcome_from(fetched.value, fetched.provider, tuple(fetched.raw))


async def refresh_post_by_shortcode(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.post_by_shortcode(params["shortcode"])
    return outcome_from(fetched.value, fetched.provider, tuple(fetched.raw))


FlowHandler = Callable[[InstagramCrawler, dict[str, Any]], Awaitable[FlowOutcome]]

HANDLERS: dict[str, FlowHandler] = {
    "refresh_profile_by_handle": refresh_profile_by_handle,
    "refresh_post_by_shortcode": refresh_post_by_shortcode,
}
