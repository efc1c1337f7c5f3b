from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse
from providers.instagram import PROVIDERS, ArrayBobo
from providers.model import InstagramPost, InstagramProfile, flatten

Recorded = Callable[[str], RawResponse]
BOBO = ArrayBobo()
CRED = Credential(
    "a",
    "arraybobo",
    {
        "x-rapidapi-key": "rk-secret-0001",
        "x-rapidapi-host": "instagram-scraper-2022.p.rapidapi.com",
    },
)


def test_registry_entry() -> None:
    assert isinstance(PROVIDERS["arraybobo"], ArrayBobo)
    assert BOBO.supports == frozenset({"profile", "posts", "post", "reels", "tagged"})
    assert not BOBO.profile_includes_posts


def test_business_profile(recorded: Recorded) -> None:
    profile, posts, cursor = BOBO.parse_profile(recorded("arraybobo/profile.json"))
    assert (posts, cursor) == ([], None)
    assert profile == InstagramProfile(
        profile_id="1783926512",
        handle="mapleandrye",
        full_name="Maple & Rye Bakery",
        biography="Sourdough, pastries & coffee 🥐☕\nOpen Tue\u2013Sun 7am\u20133pm",
        followers=48213,
        following=612,
        media_count=734,
        profile_pic_url="https://scontent.cdninstagram.example/v/t51.2885-19/mapleandrye_pic_hd.jpg",
        is_private=False,
        is_verified=False,
        is_business_or_creator=True,
        profile_type="business",
        category="Bakery",
        category_id="2705",
        fbid="17841405822304914",
        external_url="https://mapleandrye.example.com/",
    )
    dims = flatten(profile.dimensions())
    assert dims["profile_type"] == "business"
    assert dims["category_id"] == "2705"
    assert dims["fbid"] == "17841405822304914"


def test_creator_profile(recorded: Recorded) -> None:
    profile, _, _ = BOBO.parse_profile(recorded("arraybobo/profile_creator.json"))
    assert profile.handle == "nordic.trails"
    assert profile.profile_type == "creator"
    assert profile.is_business_or_creator is True
    assert profile.is_verified is True
    assert profile.biography == ""
    assert profile.external_url is None
    assert profile.followers == 1204455
    assert (
        profile.profile_pic_url
        == "https://scontent.cdninstagram.example/v/t51.2885-19/nordic_hd.jpg"
    )


def test_private_profile_is_a_profile(recorded: Recorded) -> None:
    profile, posts, cursor = BOBO.parse_profile(recorded("arraybobo/profile_private.json"))
    assert profile.is_private is True
    assert profile.profile_type == "personal"
    assert profile.is_business_or_creator is False
    assert profile.external_url is None
    assert profile.category is None and profile.category_id is None
    assert (posts, cursor) == ([], None)


def test_posts_page(recorded: Recorded) -> None:
    posts, cursor = BOBO.parse_posts(recorded("arraybobo/posts_page.json"))
    assert cursor == "QVFEX3Vfb0ZkMk9zWjZQbXhxb1JhRktYaTJ3"
    image, video, carousel = posts
    assert image == InstagramPost(
        shortcode="C7AbCdEfGhI",
        post_id="3367281188209918721",
        profile_id=None,
        handle=None,
        post_type="image",
        content_type="IMAGE",
        caption="Fresh laminated croissants, out of the oven at 7 sharp. #sourdough #bakery",
        likes=1287,
        comments=41,
        views=None,
        plays=None,
        display_url="https://scontent.cdninstagram.example/v/t51.29350-15/croissant_1080.jpg",
        thumbnail_url="https://scontent.cdninstagram.example/v/t51.29350-15/croissant_640.jpg",
        taken_at=datetime(2024, 5, 14, 7, 12, 45, tzinfo=UTC),
    )
    # likes fall back to edge_media_preview_like
    assert (video.post_type, video.likes, video.views, video.comments) == ("reels", 5402, 70211, 88)
    assert carousel.post_type == "carousel" and carousel.content_type == "CAROUSEL_ALBUM"
    assert carousel.caption is None
    assert flatten(video.metrics()) == {"likes": 5402, "comments": 88, "views": 70211}
    assert flatten(video.dimensions())["taken_at_timestamp"] == 1715538600


def test_last_posts_page(recorded: Recorded) -> None:
    posts, cursor = BOBO.parse_posts(recorded("arraybobo/posts_page_last.json"))
    assert cursor is None
    assert [(p.shortcode, p.profile_id, p.handle) for p in posts] == [
        ("C5zZyXwVuTs", "1783926512", "mapleandrye")
    ]


def test_post_carousel(recorded: Recorded) -> None:
    post = BOBO.parse_post(recorded("arraybobo/post.json"))
    assert post.shortcode == "C6qRsTuVwXy"
    assert post.post_type == "carousel"
    assert (post.profile_id, post.handle) == ("1783926512", "mapleandrye")
    assert (post.likes, post.comments) == (903, 12)
    assert post.caption == "This week's menu, swipe →"
    assert post.taken_at == datetime(2024, 5, 10, 9, 0, tzinfo=UTC)


def test_post_video(recorded: Recorded) -> None:
    post = BOBO.parse_post(recorded("arraybobo/post_video.json"))
    assert (post.post_type, post.views, post.plays, post.likes) == ("reels", 70211, 98230, 5402)
    assert flatten(post.metrics()) == {
        "likes": 5402,
        "comments": 88,
        "views": 70211,
        "plays": 98230,
    }


@pytest.mark.parametrize(
    ("name", "error", "retry_after"),
    [
        ("arraybobo/error_not_found.json", TargetNotFound, None),
        ("arraybobo/error_status_fail.json", TargetNotFound, None),
        ("arraybobo/post_missing.json", TargetNotFound, None),
        ("arraybobo/posts_private.json", TargetPrivate, None),
        ("arraybobo/error_rate_limit.json", RateLimited, 7.0),
        ("arraybobo/error_quota.json", RateLimited, 86400.0),
        ("arraybobo/error_not_subscribed.json", CredentialRejected, None),
        ("arraybobo/error_invalid_key.json", CredentialRejected, None),
        ("arraybobo/error_endpoint.json", ProviderUnavailable, None),
        ("arraybobo/error_502.html", ProviderUnavailable, None),
    ],
)
def test_error_mapping(
    recorded: Recorded, name: str, error: type[ProviderError], retry_after: float | None
) -> None:
    raw = recorded(name)
    parsers = {
        "profile": BOBO.parse_profile,
        "posts_page": BOBO.parse_posts,
        "post": BOBO.parse_post,
    }
    with pytest.raises(error) as info:
        parsers[raw.kind](raw)
    assert type(info.value) is error
    assert info.value.provider == "arraybobo"
    assert info.value.status == raw.status
    if retry_after is not None:
        assert info.value.retry_after == retry_after  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (500, b'{"message": "Internal Server Error"}', {}, ProviderUnavailable),
        (503, b"upstream connect error", {}, ProviderUnavailable),
        (404, b"404: Not Found", {}, ProviderUnavailable),
        (404, b'{"message": "Page not found"}', {}, TargetNotFound),
        (429, b"", {"x-ratelimit-requests-reset": "55"}, RateLimited),
        (200, b'{"message": "You have exceeded the DAILY quota"}', {}, RateLimited),
        (200, b"<!DOCTYPE html><html></html>", {}, MalformedResponse),
        (200, b'{"user": {"pk": 1, "username": "x"', {}, MalformedResponse),
        (200, b'{"status": "ok"}', {}, MalformedResponse),
        (200, b'{"user": {"username": "x"}}', {}, MalformedResponse),
        (
            200,
            b'{"user": {"pk": 1, "username": "x", "follower_count": true}}',
            {},
            MalformedResponse,
        ),
        (200, b'{"user": {"pk": 1, "username": "x", "is_private": "yes"}}', {}, MalformedResponse),
        (400, b'{"message": "bad request"}', {}, ProviderUnavailable),
    ],
)
def test_status_and_body_mapping(
    status: int, body: bytes, headers: dict[str, str], error: type[ProviderError]
) -> None:
    with pytest.raises(error):
        BOBO.parse_profile(RawResponse.build("arraybobo", "profile", status, body, headers))


def test_retry_after_falls_back_to_reset_header() -> None:
    raw = RawResponse.build(
        "arraybobo", "profile", 429, b"{}", headers={"x-ratelimit-requests-reset": "55"}
    )
    with pytest.raises(RateLimited) as info:
        BOBO.parse_profile(raw)
    assert info.value.retry_after == 55.0


def test_posts_shapes() -> None:
    no_user = b'{"data": {"user": null}, "status": "ok"}'
    with pytest.raises(TargetNotFound):
        BOBO.parse_posts(RawResponse.build("arraybobo", "posts_page", 200, no_user))
    unknown_type = (
        b'{"data": {"user": {"edge_owner_to_timeline_media": {"edges": [{"node": '
        b'{"__typename": "GraphFuture", "shortcode": "x", "is_video": true}}]}}}}'
    )
    posts, cursor = BOBO.parse_posts(
        RawResponse.build("arraybobo", "posts_page", 200, unknown_type)
    )
    assert posts[0].post_type == "reels" and cursor is None
    bad_node = b'{"data": {"user": {"edge_owner_to_timeline_media": {"edges": [{"node": 5}]}}}}'
    with pytest.raises(MalformedResponse):
        BOBO.parse_posts(RawResponse.build("arraybobo", "posts_page", 200, bad_node))


def test_requests() -> None:
    req = BOBO.profile_request("mapleandrye", CRED, "https://rapid.example/")
    assert req.url == "https://rapid.example/ig/info_username/"
    assert req.params == {"user": "mapleandrye"}
    assert req.headers["x-rapidapi-key"] == "rk-secret-0001"
    assert req.headers["x-rapidapi-host"] == "instagram-scraper-2022.p.rapidapi.com"
    assert "rk-secret-0001" not in repr(req)

    profile = InstagramProfile(profile_id="1783926512", handle="mapleandrye")
    first = BOBO.posts_request(profile, None, CRED, "https://rapid.example")
    assert first.url == "https://rapid.example/ig/posts/"
    assert first.params == {"id_user": "1783926512"}
    nxt = BOBO.posts_request(profile, "CUR", CRED, "https://rapid.example")
    assert nxt.params == {"id_user": "1783926512", "end_cursor": "CUR"}

    post = BOBO.post_request("C6qRsTuVwXy", CRED, "https://rapid.example")
    assert post.url == "https://rapid.example/ig/post_info/"
    assert post.params == {"shortcode": "C6qRsTuVwXy"}


def test_host_header_is_added_and_key_required() -> None:
    only_key = Credential("a", "arraybobo", {"x-rapidapi-key": "k"})
    assert BOBO.profile_request("x", only_key, "https://r").headers["x-rapidapi-host"] == (
        "instagram-scraper-2022.p.rapidapi.com"
    )
    with pytest.raises(CredentialRejected):
        BOBO.profile_request(
            "x", Credential("a", "arraybobo", {"x-rapidapi-host": "h"}), "https://r"
        )


def test_reels_page(recorded: Recorded) -> None:
    reels, cursor = BOBO.parse_listing("reels", recorded("arraybobo/reels_page.json"))
    assert cursor == "QVFDbWF4X2lkXzE"
    first, second = reels
    assert (first.shortcode, first.post_type, first.plays, first.views) == (
        "C7KlMnOpQrS", "reels", 152004, 98110,
    )  # fmt: skip
    assert (first.profile_id, first.handle, first.caption) == (
        "1783926512", "mapleandrye", "60 seconds of lamination",
    )  # fmt: skip
    assert second.caption is None and second.likes == 5402


def test_tagged_page(recorded: Recorded) -> None:
    posts, cursor = BOBO.parse_listing("tagged", recorded("arraybobo/tagged_page.json"))
    assert cursor == "QVFBdGFnZ2VkXzEy"
    image, video = posts
    assert (image.shortcode, image.profile_id, image.handle) == (
        "C7TaGgEdOnE", "5550001112", "pdx.markets",
    )  # fmt: skip
    assert image.caption == "Saturday market with @mapleandrye" and image.likes == 310
    assert (video.post_type, video.views, video.comments) == ("reels", 12044, 19)
