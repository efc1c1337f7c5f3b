"""Instagram flows: profiles, posts and what hangs off them.

Two families: `instagram` (profiles and posts, short requests) and `instagram_activity`
(long paged listings such as 2,000 followers), each with its own sensor and job, so a
backlog of listings never delays the profile refreshes queued behind it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from beat.flows.base import Family, Flow, FlowParams


def _id_as_text(value: Any) -> Any:
    # Upstream DAGs send profile ids as JSON numbers or strings; both name the same account.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ProfileId = Annotated[
    str,
    BeforeValidator(_id_as_text),
    Field(pattern=r"^[0-9]{1,25}$", description="Instagram numeric profile id (pk)"),
]
Handle = Annotated[str, Field(pattern=r"^[A-Za-z0-9._]{1,30}$", description="Instagram username")]


class HandleParams(FlowParams):
    handle: Handle


class ShortcodeParams(FlowParams):
    shortcode: str = Field(pattern=r"^[A-Za-z0-9_-]{4,64}$", description="Instagram post shortcode")


class ProfileParams(FlowParams):
    """The original sent both: the id names the account, the handle is what providers fetch."""

    profile_id: ProfileId
    handle: Handle


class CustomProfileParams(ProfileParams):
    max_posts: int = Field(ge=0, le=1000, description="How many recent posts to fetch")


class ProfileIdParams(FlowParams):
    profile_id: ProfileId


class TaggedPostsParams(FlowParams):
    profile_id: ProfileId
    max_posts: int = Field(default=50, ge=1, le=1000, description="At most this many posts")


Shortcode = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_-]{4,64}$", description="Instagram post shortcode")
]


class PostLikesParams(FlowParams):
    shortcode: Shortcode
    max_likes: int = Field(default=2000, ge=1, le=2000, description="At most this many likers")


class PostCommentsParams(FlowParams):
    shortcode: Shortcode
    max_comments: int = Field(default=1000, ge=1, le=1000, description="At most this many")


class StoryPostsParams(FlowParams):
    """The original's params. Stories asked for in `story_ids` that the provider no longer
    shows are written as stub posts. The profile_* figures are accepted as the original took
    them and not stored (instagram_post has no column for them)."""

    profile_id: ProfileId
    handle: Handle
    story_ids: list[ProfileId] = Field(default_factory=list, max_length=500)
    profile_follower: int | None = Field(default=None, ge=0)
    profile_er: float | None = None
    profile_static_er: float | None = None
    profile_reels_er: float | None = None


class PostInsightsParams(FlowParams):
    """The original's params: the post, its creator (whose own Graph token reads it) and its
    type (which metrics Graph has for it)."""

    shortcode: Shortcode
    handle: Handle
    post_id: ProfileId = Field(description="Graph media id of the post")
    post_type: Literal["image", "reels", "carousel", "video"]


class StoryInsightsParams(FlowParams):
    """The original's params: the story (Graph media id and our shortcode for it), its
    creator's id and handle (whose own Graph token reads it)."""

    story_id: ProfileId = Field(description="Graph media id of the story")
    shortcode: Shortcode
    profile_id: ProfileId
    handle: Handle


class HashtagPostsParams(FlowParams):
    hashtag: str = Field(pattern=r"^#?\w{1,100}$", description="Hashtag, with or without #")
    max_posts: int = Field(default=100, ge=1, le=1000, description="At most this many posts")


FAMILIES = (
    Family(
        name="instagram",
        platform="INSTAGRAM",
        job_name="instagram_batch_job",
        sensor_name="instagram_batch_sensor",
    ),
    Family(
        name="instagram_activity",
        platform="INSTAGRAM",
        job_name="instagram_activity_batch_job",
        sensor_name="instagram_activity_batch_sensor",
    ),
)

FLOWS = (
    Flow(
        name="refresh_profile_by_handle",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="profile_by_handle",
        params_model=HandleParams,
        description="Profile by handle, then its posts of the last 30 days (at most 50).",
    ),
    Flow(
        name="refresh_profile_basic",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="profile_by_handle",
        params_model=ProfileParams,
        description="The profile alone (no posts).",
    ),
    Flow(
        name="refresh_profile_custom",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="profile_by_handle",
        params_model=CustomProfileParams,
        description="The profile and its latest max_posts posts, of any age.",
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
        name="refresh_tagged_posts_by_profile_id",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="tagged",
        params_model=TaggedPostsParams,
        description="Posts an account is tagged in (at most max_posts), other accounts' posts.",
    ),
    Flow(
        name="fetch_profile_followers",
        platform="INSTAGRAM",
        family="instagram_activity",
        fetch_type="followers",
        params_model=ProfileIdParams,
        description="Up to 2,000 followers of an account, paged on one provider (FOLLOWS log).",
    ),
    Flow(
        name="fetch_profile_following",
        platform="INSTAGRAM",
        family="instagram_activity",
        fetch_type="following",
        params_model=ProfileIdParams,
        description="Up to 200 accounts an account follows (FOLLOWS log).",
    ),
    Flow(
        name="fetch_post_likes",
        platform="INSTAGRAM",
        family="instagram_activity",
        fetch_type="likes",
        params_model=PostLikesParams,
        description="Up to max_likes (2,000) likers of a post (post activity log, LIKE).",
    ),
    Flow(
        name="fetch_post_comments",
        platform="INSTAGRAM",
        family="instagram_activity",
        fetch_type="comments",
        params_model=PostCommentsParams,
        description="Up to max_comments (1,000) comments of a post (post activity log, COMMENT).",
    ),
    Flow(
        name="refresh_profile_by_profile_id",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="profile_by_id",
        params_model=ProfileIdParams,
        description="The profile alone, by its numeric id (a renamed account is still found).",
    ),
    Flow(
        name="refresh_story_posts_by_profile_id",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="story_posts",
        params_model=StoryPostsParams,
        description="An account's current stories (post_type story), plus stub posts for the "
        "asked story_ids no longer shown.",
    ),
    Flow(
        name="refresh_post_insights",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="post_insights",
        params_model=PostInsightsParams,
        description="Lifetime insights of a post, with its creator's own Graph token.",
    ),
    Flow(
        name="refresh_story_insights",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="post_insights",
        params_model=StoryInsightsParams,
        description="A story's counters and navigation (taps forward/back, exits, swipes), "
        "with its creator's own Graph token.",
    ),
    Flow(
        name="refresh_profile_insights",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="profile_insights",
        params_model=HandleParams,
        description="A creator's audience (followers, reached, engaged) by country, city, "
        "gender and age, with its own Graph token.",
    ),
    Flow(
        name="refresh_stories_posts",
        platform="INSTAGRAM",
        family="instagram",
        fetch_type="stories_posts",
        params_model=HandleParams,
        description="A creator's own media of the last 90 days (at most 150) and current "
        "stories (post_type story), with its own Graph token.",
    ),
    Flow(
        name="fetch_hashtag_posts",
        platform="INSTAGRAM",
        family="instagram_activity",
        fetch_type="hashtag",
        params_model=HashtagPostsParams,
        description="Recent posts of a hashtag (at most max_posts), paged on one provider; "
        "the posts in instagram_post, linked to the hashtag in instagram_hashtag_post.",
    ),
)
