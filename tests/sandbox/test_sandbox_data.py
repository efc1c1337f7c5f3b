"""Deterministic data generation (no HTTP)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sandbox.data import (
    decode_cursor,
    decode_shortcode,
    encode_cursor,
    encode_shortcode,
    facts_for,
    handle_seed,
)

REF = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_same_handle_same_facts() -> None:
    a = facts_for("alice.example", REF)
    b = facts_for("Alice.Example", REF)
    assert a is not None and a == b
    assert facts_for("bob.example", REF) != a


def test_seed_is_stable_across_processes() -> None:
    code = "from sandbox.data import handle_seed; print(handle_seed('alice.example'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]),
    )
    assert int(out.stdout) == handle_seed("alice.example")


def test_shape_of_generated_facts() -> None:
    for i in range(200):
        handle = f"user_{i}"
        facts = facts_for(handle, REF)
        assert facts is not None
        assert 12 <= facts.media_count <= 60
        assert len(facts.posts) == facts.media_count
        assert facts.account_type in (2, 3)
        stamps = [p.taken_at for p in facts.posts]
        assert stamps == sorted(stamps, reverse=True)
        assert all(REF - 60 * 86400 <= t < REF for t in stamps)
        assert len({p.shortcode for p in facts.posts}) == facts.media_count
        for post in facts.posts:
            assert (post.views is None) == (post.kind != "video")
            assert decode_shortcode(post.shortcode) == (handle, post.index)
    counts = {facts_for(f"user_{i}", REF).media_count for i in range(200)}  # type: ignore[union-attr]
    assert len(counts) > 20  # spread over the 12..60 range


def test_reference_moves_timestamps_only() -> None:
    a = facts_for("alice.example", REF)
    b = facts_for("alice.example", REF + 86400)
    assert a is not None and b is not None
    assert [p.taken_at + 86400 for p in a.posts] == [p.taken_at for p in b.posts]
    assert [p.likes for p in a.posts] == [p.likes for p in b.posts]


def test_special_handles() -> None:
    assert facts_for("missing_anyone", REF) is None
    assert facts_for("not a handle!", REF) is None
    private = facts_for("private_anyone", REF)
    assert private is not None and private.is_private and private.account_type == 1


@pytest.mark.parametrize("bad", ["", "C7AbCdEfGhI", "!!!", "MFWGSY3F", "A" * 200])
def test_foreign_shortcodes_do_not_decode(bad: str) -> None:
    assert decode_shortcode(bad) is None


def test_shortcode_round_trip() -> None:
    for handle, index in (("a", 0), ("x.y_z", 59), ("abcdefghijklmnopqrstuvwxyz0123", 7)):
        code = encode_shortcode(handle, index)
        assert code.isalnum() and code.upper() == code
        assert decode_shortcode(code) == (handle, index)


def test_cursor_round_trip() -> None:
    assert decode_cursor("g", encode_cursor("g", 25)) == 25
    assert decode_cursor("a", encode_cursor("g", 25)) is None
    assert decode_cursor("g", "garbage!") is None
