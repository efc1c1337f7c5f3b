from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from providers.model import InstagramPost, InstagramProfile, ProfileWithPosts, flatten


def _profile(**overrides: object) -> InstagramProfile:
    values: dict[str, object] = dict(
        profile_id="1783926512",
        handle="mapleandrye",
        full_name="Maple & Rye Bakery",
        biography="Sourdough",
        followers=48213,
        following=612,
        media_count=734,
        profile_pic_url="https://cdn.example/p.jpg",
        is_private=False,
        is_verified=True,
        is_business_or_creator=True,
        profile_type="business",
        category="Bakery",
        category_id="2705",
        fbid="17841405822304914",
        external_url="https://mapleandrye.example.com/",
    )
    values.update(overrides)
    return InstagramProfile(**values)  # type: ignore[arg-type]


def _post(**overrides: object) -> InstagramPost:
    values: dict[str, object] = dict(
        shortcode="C7AbCdEfGhI",
        post_id="17998822334455667",
        profile_id="1783926512",
        handle="mapleandrye",
        post_type="reels",
        content_type="VIDEO",
        caption="hello",
        likes=10,
        comments=2,
        views=300,
        plays=450,
        display_url="https://cdn.example/d.jpg",
        thumbnail_url="https://cdn.example/t.jpg",
        taken_at=datetime(2024, 5, 14, 7, 12, 45, tzinfo=UTC),
    )
    values.update(overrides)
    return InstagramPost(**values)  # type: ignore[arg-type]


def test_profile_metrics_and_dimensions_use_original_keys() -> None:
    p = _profile()
    assert flatten(p.metrics()) == {"media_count": 734, "followers": 48213, "following": 612}
    assert flatten(p.dimensions()) == {
        "profile_id": "1783926512",
        "handle": "mapleandrye",
        "full_name": "Maple & Rye Bakery",
        "bio": "Sourdough",
        "profile_pic_url": "https://cdn.example/p.jpg",
        "external_url": "https://mapleandrye.example.com/",
        "fbid": "17841405822304914",
        "is_business_or_creator": True,
        "profile_type": "business",
        "category": "Bakery",
        "category_id": "2705",
        "is_private": False,
        "is_verified": True,
    }
    assert all(set(item) == {"key", "value"} for item in p.dimensions() + p.metrics())


def test_none_values_are_left_out() -> None:
    p = InstagramProfile(profile_id="1", handle="h")
    assert p.metrics() == []
    assert flatten(p.dimensions()) == {"profile_id": "1", "handle": "h"}
    # False is a value, not an absence.
    assert flatten(InstagramProfile("1", "h", is_private=False).dimensions())["is_private"] is False


def test_post_metrics_and_dimensions_use_original_keys() -> None:
    post = _post()
    assert flatten(post.metrics()) == {"likes": 10, "comments": 2, "views": 300, "plays": 450}
    dims = flatten(post.dimensions())
    assert dims == {
        "shortcode": "C7AbCdEfGhI",
        "post_id": "17998822334455667",
        "profile_id": "1783926512",
        "handle": "mapleandrye",
        "post_type": "reels",
        "content_type": "VIDEO",
        "caption": "hello",
        "display_url": "https://cdn.example/d.jpg",
        "thumbnail_src": "https://cdn.example/t.jpg",
        "taken_at_timestamp": 1715670765,
    }
    assert isinstance(dims["taken_at_timestamp"], int)


def test_post_without_time_or_counts() -> None:
    post = InstagramPost("abc", None, None, None, "image")
    assert post.metrics() == []
    assert flatten(post.dimensions()) == {"shortcode": "abc", "post_type": "image"}
    assert post.taken_at_timestamp is None


def test_with_owner_fills_but_never_overwrites() -> None:
    anon = _post(profile_id=None, handle=None)
    filled = anon.with_owner("42", "someone")
    assert (filled.profile_id, filled.handle) == ("42", "someone")
    assert dataclasses.replace(filled, profile_id=None, handle=None) == anon
    owned = _post()
    assert owned.with_owner("42", "someone") is owned


def test_models_are_frozen_and_hashable() -> None:
    p = _profile()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.followers = 1  # type: ignore[misc]
    bundle = ProfileWithPosts(p, (_post(),))
    assert hash(bundle) == hash(ProfileWithPosts(_profile(), (_post(),)))
    assert ProfileWithPosts(p).posts == ()


def test_flatten_last_key_wins() -> None:
    assert flatten([{"key": "a", "value": 1}, {"key": "a", "value": 2}]) == {"a": 2}
    assert flatten([]) == {}
