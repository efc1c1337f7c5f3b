"""Shared by the parser property tests (Instagram, scraping APIs, YouTube, Shopify).

Hypothesis strategies for hostile JSON, the mutation of a good payload at any key, and the
one rule every parser keeps: whatever the body, a ``ProviderError`` is the only thing that
escapes, and it is a clean one (no ``internal:`` from the guard, the provider stamped on it).
Each test module keeps its own keys and sample strings: they aim the noise at its payloads.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from providers.errors import ProviderError
from providers.http import RawResponse
from providers.model import POST_TYPES, PROFILE_TYPES, InstagramPost, InstagramProfile

__all__ = [
    "assert_clean_error",
    "check_post",
    "check_profile",
    "json_scalars",
    "json_values",
    "mutated",
    "paths",
    "property_settings",
    "raw_response",
]


def property_settings(max_examples: int) -> settings:
    """No deadline, and no complaint about the big documents the strategies draw."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def json_scalars(samples: Sequence[str]) -> st.SearchStrategy[Any]:
    """Any JSON scalar, huge and non-finite numbers included, plus strings a parser may read
    as something (``samples``)."""
    return (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=30)
        | st.sampled_from(list(samples))
    )


def json_values(scalars: st.SearchStrategy[Any], keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """Nested lists and objects of ``scalars``; the objects mostly use ``keys`` (the names the
    parsers look for), so the noise lands where it hurts."""
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(list(keys)) | st.text(max_size=8), children, max_size=5
            )
        ),
        max_leaves=25,
    )


def raw_response(
    provider: str, kind: str, status: int, body: bytes, headers: Any = ()
) -> RawResponse:
    return RawResponse.build(provider, kind, status, body, headers)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and index path in a JSON document."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return out
    for k, v in items:
        out.append((*prefix, k))
        out.extend(paths(v, (*prefix, k)))
    return out


def mutated(body: bytes, path: tuple[Any, ...], replacement: Any, delete: bool) -> bytes:
    """``body`` with the value at ``path`` replaced, or deleted when ``delete`` and it sits in
    an object (a list item is always replaced)."""
    doc = copy.deepcopy(json.loads(body))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return json.dumps(doc).encode()


def assert_clean_error(err: ProviderError, provider: str) -> None:
    """A parser's error: one it meant to raise (not a stray exception the guard turned into
    MalformedResponse), stamped with the provider that raised it."""
    assert "internal:" not in err.message, err.message
    assert err.provider == provider


# --------------------------------------------------------------------------- Instagram results


def check_post(post: Any) -> None:
    assert isinstance(post, InstagramPost)
    assert isinstance(post.shortcode, str) and post.shortcode
    assert post.post_type in POST_TYPES
    for count in (post.likes, post.comments, post.views, post.plays):
        assert count is None or (isinstance(count, int) and count >= 0)
    if post.taken_at is not None:
        assert post.taken_at.tzinfo is not None
    post.dimensions()
    post.metrics()


def check_profile(profile: Any) -> None:
    assert isinstance(profile, InstagramProfile)
    assert isinstance(profile.profile_id, str) and profile.profile_id
    assert isinstance(profile.handle, str) and profile.handle
    assert profile.profile_type is None or profile.profile_type in PROFILE_TYPES
    for count in (profile.followers, profile.following, profile.media_count):
        assert count is None or (isinstance(count, int) and count >= 0)
    profile.dimensions()
    profile.metrics()
