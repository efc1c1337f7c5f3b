"""post_metrics and per-post reach against values computed by hand from the original's rules
(beat-original.md §9: top and bottom two trimmed above four posts, reach estimated when
missing, story reach from the engagement)."""

from __future__ import annotations

import pytest

from beat.intake.post_metrics import engagement_rate, estimated_reach, post_metrics


def post(kind: str, day: int, likes: int, comments: int, plays: int = 0, reach: int = 0) -> dict:
    return {
        "post_type": kind,
        "publish_time": f"2026-11-{day:02d}T12:00:00+00:00",
        "metrics": {"likes": likes, "play_count": plays, "reach": reach},
        "dimensions": {"comments": comments},  # where the API answers comments
    }


# Reels first, then static, as the API reads them. Static reach is given for the two posts
# that survive the trim; the reels' reach is what post_view estimated for 1000 followers.
REELS = [post("reels", 20 - i, 10 * (i + 1), i + 1, plays=1000 * (i + 1)) for i in range(3)]
for reel, reach in zip(REELS, (930, 1860, 2790), strict=True):
    reel["metrics"]["reach"] = reach
STATIC = [
    post("image", 10, 100, 10, reach=9999),
    post("carousel", 9, 90, 9, reach=9999),
    post("image", 8, 80, 8, reach=400),
    post("image", 7, 70, 7, reach=300),
    post("carousel", 6, 60, 6, reach=9999),
    post("image", 5, 50, 5, reach=9999),
]


def test_sections_by_hand() -> None:
    metrics = post_metrics(1000, REELS + STATIC)
    # static: six posts, trimmed to likes 80 and 70
    assert metrics["static"] == {
        "avg_engagement": pytest.approx(100 * (150 + 15) / (1000 * 2)),  # 8.25
        "avg_plays": None,
        "avg_likes": 75.0,
        "avg_comments": 7.5,
        "avg_reach": 350.0,
    }
    # reels: three posts, not trimmed
    assert metrics["reels"] == {
        "avg_engagement": pytest.approx(100 * (60 + 6) / (1000 * 3)),  # 2.2
        "avg_plays": 2000.0,
        "avg_likes": 20.0,
        "avg_comments": 2.0,
        "avg_reach": 1860.0,
    }
    # all: the nine newest, trimmed by likes (100, 90 and 10, 20 dropped): 80 70 60 50 30
    assert metrics["all"] == {
        "avg_engagement": pytest.approx(100 * (290 + 29) / (1000 * 5)),  # 6.38
        "avg_plays": None,
        "avg_likes": 58.0,
        "avg_comments": 5.8,
        "avg_reach": None,
    }
    # story: -0.000025017*1000 + 1.11 * 1000 * |log2(2.2 + 2)| * 2 / 100 = 45.94 -> 46
    assert metrics["story"] == {
        "avg_engagement": None,
        "avg_plays": None,
        "avg_likes": None,
        "avg_comments": None,
        "avg_reach": 46,
    }


def test_all_takes_only_the_twelve_newest() -> None:
    old_star = post("image", 1, 10_000, 0)
    fresh = [post("image", 10 + i, 10, 0) for i in range(12)]
    assert post_metrics(100, [old_star, *fresh])["all"]["avg_likes"] == 10.0


def test_without_followers_or_posts_every_figure_is_null() -> None:
    for metrics in (post_metrics(0, REELS + STATIC), post_metrics(None, []), post_metrics(500, [])):
        for section in ("static", "reels", "all"):
            assert set(metrics[section].values()) == {None}
        assert metrics["story"]["avg_reach"] == 0.0


@pytest.mark.parametrize(
    ("kind", "reach", "likes", "plays", "followers", "expected"),
    [
        ("reels", None, 10, 1000, 1000, 930),  # 1000 * (0.94 - 0.001 * log2 1000)
        ("image", None, 100, 0, 1000, 527),  # (7.6 - 0.7 * log10 100) * 0.85 * 100
        ("carousel", 0, 1000, 0, 5, 4675),  # (7.6 - 0.7 * log10 1000) * 0.85 * 1000
        ("image", 777, 100, 0, 1000, 777),  # the provider's reach wins
        ("reels", 777, 10, 0, 1000, 0),  # no plays: no reach, as the original said
        ("image", None, 0, 0, 1000, 0),
        ("story", None, 0, 0, 1000, 0),  # the original raised here
    ],
)
def test_estimated_reach(
    kind: str, reach: int | None, likes: int, plays: int, followers: int, expected: int
) -> None:
    got = estimated_reach(kind, reach=reach, likes=likes, plays=plays, followers=followers)
    assert got == expected and isinstance(got, int)


def test_engagement_rate() -> None:
    assert engagement_rate(80, 8, 1000) == 8.8
    assert engagement_rate(None, None, 1000) == 0
    assert engagement_rate(5, 5, 0) == 0
