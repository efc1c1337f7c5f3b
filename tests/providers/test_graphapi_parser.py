from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetNotServed,
)
from providers.http import RawResponse
from providers.instagram import PROVIDERS, GraphApi
from providers.instagram.graphapi import GRAPH_VERSION
from providers.model import InstagramProfile, flatten

Recorded = Callable[[str], RawResponse]
GRAPH = GraphApi()
CRED = Credential("g", "graphapi", {"token": "EAAGtok-secret", "user_id": "17841400000000001"})


def test_registry_entry() -> None:
    assert isinstance(PROVIDERS["graphapi"], GraphApi)
    assert GRAPH.name == "graphapi"
    assert GRAPH.supports == frozenset({"profile", "posts"})
    assert GRAPH.profile_includes_posts


def test_profile(recorded: Recorded) -> None:
    profile, posts, cursor = GRAPH.parse_profile(recorded("graphapi/profile.json"))
    assert profile == InstagramProfile(
        profile_id="1783926512",
        handle="mapleandrye",
        full_name="Maple & Rye Bakery",
        biography="Sourdough, pastries & coffee 🥐☕\nOpen Tue\u2013Sun 7am\u20133pm",
        followers=48213,
        following=612,
        media_count=734,
        profile_pic_url="https://scontent.cdninstagram.example/v/t51.2885-19/mapleandrye_pic.jpg",
        is_private=None,
        is_verified=None,
        is_business_or_creator=True,
        profile_type=None,
        category=None,
        category_id=None,
        fbid="17841405822304914",
        external_url="https://mapleandrye.example.com/",
    )
    assert cursor == "QVFIUkZAxTE1ZAm9xRXBn"
    assert [p.shortcode for p in posts] == ["C7AbCdEfGhI", "C6xYz123AbC", "C6qRsTuVwXy"]
    assert flatten(profile.metrics()) == {"media_count": 734, "followers": 48213, "following": 612}
    dims = flatten(profile.dimensions())
    assert dims["profile_id"] == "1783926512"
    assert dims["fbid"] == "17841405822304914"
    assert dims["bio"].startswith("Sourdough")
    assert dims["is_business_or_creator"] is True


def test_profile_posts_exact_values(recorded: Recorded) -> None:
    _, posts, _ = GRAPH.parse_profile(recorded("graphapi/profile.json"))
    image, video, carousel = posts
    assert image.post_id == "17998822334455667"
    assert (image.profile_id, image.handle) == ("1783926512", "mapleandrye")
    assert image.post_type == "image" and image.content_type == "IMAGE"
    assert (image.likes, image.comments, image.views, image.plays) == (1287, 41, None, None)
    assert image.display_url == "https://scontent.cdninstagram.example/v/t51.29350-15/croissant.jpg"
    assert image.thumbnail_url is None
    assert image.taken_at == datetime(2024, 5, 14, 7, 12, 45, tzinfo=UTC)
    assert image.caption is not None and image.caption.startswith("Fresh laminated")

    # A video without media_url (licensed audio): the thumbnail stands in for display_url.
    assert video.post_type == "reels" and video.content_type == "VIDEO"
    cover = "https://scontent.cdninstagram.example/v/t51.29350-15/shaping_cover.jpg"
    assert video.display_url == cover
    assert video.thumbnail_url == cover
    assert video.shortcode == "C6xYz123AbC"

    assert carousel.post_type == "carousel" and carousel.content_type == "CAROUSEL_ALBUM"
    assert (carousel.likes, carousel.comments) == (903, 12)

    dims = flatten(video.dimensions())
    assert dims["taken_at_timestamp"] == 1715538600
    assert dims["thumbnail_src"] == cover
    assert dims["post_type"] == "reels"
    assert flatten(video.metrics()) == {"likes": 5402, "comments": 88}


def test_posts_page(recorded: Recorded) -> None:
    posts, cursor = GRAPH.parse_posts(recorded("graphapi/posts_page.json"))
    # Graph often omits "next" on this edge: the after cursor alone says where to go on (the
    # crawler stops on an empty page, a repeated cursor or once media_count posts are in).
    assert cursor == "QVFIUmVuZAF9lbmQ"
    assert [p.shortcode for p in posts] == ["C6DeFgHiJkL", "C5zZyXwVuTs"]
    video, image = posts
    assert video.display_url.endswith("cinnamon_buns.mp4")  # type: ignore[union-attr]
    assert video.thumbnail_url.endswith("cinnamon_buns_cover.jpg")  # type: ignore[union-attr]
    assert image.caption is None
    assert {p.profile_id for p in posts} == {"1783926512"}
    assert image.taken_at == datetime(2024, 4, 20, 15, 45, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "error", "retry_after"),
    [
        ("graphapi/error_not_found.json", TargetNotServed, None),
        ("graphapi/error_rate_limit.json", RateLimited, 720.0),
        ("graphapi/error_user_rate_limit.json", RateLimited, None),
        ("graphapi/error_expired_token.json", CredentialRejected, None),
        ("graphapi/error_permission.json", CredentialRejected, None),
        ("graphapi/error_transient.json", ProviderUnavailable, None),
        ("graphapi/error_not_professional.json", TargetNotServed, None),
        # Code 100 about the caller's own node: the credential is unusable, not a passing fault.
        ("graphapi/error_unknown_node.json", CredentialRejected, None),
        ("graphapi/error_page.html", MalformedResponse, None),
    ],
)
def test_error_mapping(
    recorded: Recorded, name: str, error: type[ProviderError], retry_after: float | None
) -> None:
    raw = recorded(name)
    for parse in (GRAPH.parse_profile, GRAPH.parse_posts):
        with pytest.raises(error) as info:
            parse(raw)
        assert type(info.value) is error
        assert info.value.provider == "graphapi"
        assert info.value.status == raw.status
        if retry_after is not None:
            assert info.value.retry_after == retry_after  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80002])
def test_rate_limit_codes(code: int) -> None:
    body = f'{{"error": {{"message": "limit", "code": {code}, "type": "OAuthException"}}}}'
    raw = RawResponse.build("graphapi", "profile", 400, body.encode())
    with pytest.raises(RateLimited):
        GRAPH.parse_profile(raw)


@pytest.mark.parametrize("code", [190, 10, 200, 230, 299])
def test_credential_codes(code: int) -> None:
    body = f'{{"error": {{"message": "nope", "code": {code}}}}}'
    with pytest.raises(CredentialRejected):
        GRAPH.parse_profile(RawResponse.build("graphapi", "profile", 400, body.encode()))


@pytest.mark.parametrize("code", [1, 2])
def test_transient_codes(code: int) -> None:
    body = f'{{"error": {{"message": "try later", "code": {code}}}}}'
    with pytest.raises(ProviderUnavailable):
        GRAPH.parse_profile(RawResponse.build("graphapi", "profile", 500, body.encode()))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, b"<html>Service Unavailable</html>", ProviderUnavailable),
        (502, b"", ProviderUnavailable),
        (429, b"", RateLimited),
        (401, b"", CredentialRejected),
        (200, b"", MalformedResponse),
        (200, b'{"business_discovery": {"ig_id": 1, "username": "x"', MalformedResponse),
        (200, b'{"id": "1784"}', MalformedResponse),
        (200, b"[]", MalformedResponse),
    ],
)
def test_status_and_body_mapping(status: int, body: bytes, error: type[ProviderError]) -> None:
    with pytest.raises(error):
        GRAPH.parse_profile(RawResponse.build("graphapi", "profile", status, body))


def test_subcode_alone_means_not_found_when_made_final() -> None:
    body = b'{"error": {"message": "x", "code": 100, "error_subcode": 2207013}}'
    with pytest.raises(TargetNotFound):
        GraphApi(not_found_is_final=True).parse_profile(
            RawResponse.build("graphapi", "profile", 400, body)
        )


def test_not_found_falls_back_by_default(recorded: Recorded) -> None:
    # Graph's 110 also covers personal accounts: by default the next provider decides.
    with pytest.raises(TargetNotServed):
        GRAPH.parse_profile(recorded("graphapi/error_not_found.json"))
    with pytest.raises(TargetNotFound):
        GraphApi(not_found_is_final=True).parse_profile(recorded("graphapi/error_not_found.json"))


def test_retry_after_header_is_used_when_no_usage_header() -> None:
    body = b'{"error": {"message": "limit", "code": 613}}'
    raw = RawResponse.build("graphapi", "profile", 400, body, headers={"Retry-After": "42"})
    with pytest.raises(RateLimited) as info:
        GRAPH.parse_profile(raw)
    assert info.value.retry_after == 42.0


def test_missing_required_fields_are_malformed() -> None:
    for bd in (
        b'{"business_discovery": {"username": "x"}}',
        b'{"business_discovery": {"ig_id": 1}}',
        b'{"business_discovery": {"ig_id": 1, "username": "x", "media": {"data": [{}]}}}',
        b'{"business_discovery": {"ig_id": 1, "username": "x", "followers_count": "many"}}',
        b'{"business_discovery": {"ig_id": 1, "username": "x", "media": {"data": [{"media_type":'
        b' "HOLOGRAM", "permalink": "https://www.instagram.com/p/X/"}]}}}',
    ):
        with pytest.raises(MalformedResponse):
            GRAPH.parse_profile(RawResponse.build("graphapi", "profile", 200, bd))


@pytest.mark.parametrize(
    ("permalink", "shortcode"),
    [
        ("https://www.instagram.com/p/C7AbCdEfGhI/", "C7AbCdEfGhI"),
        ("https://www.instagram.com/reel/C6xYz123AbC/", "C6xYz123AbC"),
        ("https://www.instagram.com/p/C7AbCdEfGhI/?igsh=abc", "C7AbCdEfGhI"),
        (
            "https://www.instagram.com/stories/mapleandrye/3367281188209918721",
            "3367281188209918721",
        ),
    ],
)
def test_shortcode_from_permalink(permalink: str, shortcode: str) -> None:
    body = (
        '{"business_discovery": {"ig_id": 1, "username": "x", "media": {"data": [{"id": "9",'
        f' "media_type": "IMAGE", "permalink": "{permalink}"}}]}}}}}}'
    )
    _, posts, _ = GRAPH.parse_profile(RawResponse.build("graphapi", "profile", 200, body.encode()))
    assert posts[0].shortcode == shortcode


def test_profile_request() -> None:
    req = GRAPH.profile_request("mapleandrye", CRED, "https://graph.example/")
    assert req.method == "GET"
    assert req.url == f"https://graph.example/{GRAPH_VERSION}/17841400000000001"
    assert req.params["access_token"] == "EAAGtok-secret"
    fields = req.params["fields"]
    assert fields.startswith("business_discovery.username(mapleandrye){")
    for name in ("ig_id", "followers_count", "follows_count", "media_count", "website"):
        assert name in fields
    assert "media.limit(25){" in fields
    assert "permalink" in fields and "like_count" in fields
    assert fields.count("{") == fields.count("}")
    assert "EAAGtok-secret" not in repr(req)


def test_posts_request_pages_with_after() -> None:
    profile = InstagramProfile(profile_id="1", handle="mapleandrye")
    req = GRAPH.posts_request(profile, "QVFIUkZAxTE1", CRED, "https://graph.example")
    assert "media.after(QVFIUkZAxTE1).limit(25){" in unquote(req.params["fields"])
    assert "followers_count" not in req.params["fields"]
    first = GRAPH.posts_request(profile, None, CRED, "https://graph.example")
    assert "after" not in first.params["fields"]


def test_credential_must_have_token_and_user_id() -> None:
    with pytest.raises(CredentialRejected):
        GRAPH.profile_request("x", Credential("g", "graphapi", {"token": "t"}), "https://g")


def test_post_by_shortcode_is_not_supported(recorded: Recorded) -> None:
    with pytest.raises(NotImplementedError):
        GRAPH.post_request("C7AbCdEfGhI", CRED, "https://g")
    with pytest.raises(NotImplementedError):
        GRAPH.parse_post(recorded("graphapi/profile.json"))


def test_parse_dispatches_on_kind(recorded: Recorded) -> None:
    parsed = GRAPH.parse(recorded("graphapi/posts_page.json"))
    assert isinstance(parsed, tuple) and len(parsed) == 2


def test_current_answer_without_ig_id(recorded: Recorded) -> None:
    """ig_id is deprecated: a profile without it is keyed by its Graph id."""
    profile, _, cursor = GRAPH.parse_profile(recorded("graphapi/profile_current.json"))
    assert (profile.profile_id, profile.fbid) == ("17841405822304914", "17841405822304914")
    assert (profile.handle, profile.followers, profile.media_count) == ("mapleandrye", 48390, 741)
    assert cursor == "QVFIUjRUQnVtVWREVzN"  # only cursors.after, no next link


def test_media_product_type_tells_reels_from_feed_videos(recorded: Recorded) -> None:
    _, posts, _ = GRAPH.parse_profile(recorded("graphapi/profile_current.json"))
    reel, feed_video, carousel = posts
    assert (reel.post_type, reel.content_type) == ("reels", "VIDEO")
    assert (feed_video.post_type, feed_video.content_type) == ("video", "VIDEO")
    assert carousel.post_type == "carousel"
    assert {p.profile_id for p in posts} == {"17841405822304914"}


def test_every_carousel_child_is_kept(recorded: Recorded) -> None:
    _, posts, _ = GRAPH.parse_profile(recorded("graphapi/profile_current.json"))
    carousel = posts[2]
    assert [(c.media_id, c.media_type) for c in carousel.children] == [
        ("18001100220033004", "IMAGE"),
        ("18001100220033005", "IMAGE"),
        ("18001100220033006", "VIDEO"),
    ]
    assert carousel.children[2].thumbnail_url is not None
    assert carousel.children[2].thumbnail_url.endswith("menu_3_cover.jpg")
    assert [c["id"] for c in flatten(carousel.dimensions())["children"]][-1] == "18001100220033006"


def test_the_request_asks_for_product_type_and_children() -> None:
    request = GRAPH.profile_request("mapleandrye", CRED, "https://graph.example")
    fields = request.params["fields"]
    assert "media_product_type" in fields
    assert "children{id,media_type,media_url,thumbnail_url}" in fields


def test_graph_version_is_a_setting() -> None:
    assert (
        GraphApi()
        .profile_request("a", CRED, "https://g.example")
        .url.startswith(f"https://g.example/{GRAPH_VERSION}/")
    )
    custom = GraphApi(version="v25.0").profile_request("a", CRED, "https://g.example")
    assert custom.url == "https://g.example/v25.0/17841400000000001"
    assert GRAPH_VERSION != "v12.0"


def test_error_detail_names_the_code_once(recorded: Recorded) -> None:
    with pytest.raises(ProviderError) as info:
        GRAPH.parse_profile(recorded("graphapi/error_prefixed.json"))
    assert str(info.value).count("(#100)") == 1
    assert "Tried accessing nonexisting field" in str(info.value)
