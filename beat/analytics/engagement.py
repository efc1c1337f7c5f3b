"""The original engine's engagement formulas (beat-original.md §9, `post_metrics`), vectorized.

Written here rather than imported from the read API: analytics is a batch over millions of
rows, the API a handful of posts; the two must agree on the formulas, not share code paths.

- A profile's posts are trimmed like the original: with more than 4 posts, the 2 with the
  most and the 2 with the fewest interactions (likes + comments) are dropped.
- engagement rate (%) = 100 x Σ(likes + comments) / (followers x n), over the kept posts.
- reach, when the provider gave none, is estimated from followers F and the post's figures:
  reels: plays x (0.94 - 0.001·log2 F); static posts: (7.6 - 0.7·log10 likes) x 0.85 x likes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: More posts than this and the extremes are dropped before averaging.
TRIM_ABOVE = 4
#: How many posts are dropped at each end.
TRIM_EACH_END = 2


def interactions(likes: pd.Series, comments: pd.Series) -> pd.Series:
    """likes + comments, a missing figure counting as 0 (a provider that hides likes)."""
    return likes.fillna(0).astype("float64") + comments.fillna(0).astype("float64")


def engagement_rate(
    total_interactions: pd.Series, followers: pd.Series, posts: pd.Series
) -> pd.Series:
    """100 x interactions / (followers x posts); missing where followers or posts are 0."""
    denominator = followers.astype("float64") * posts.astype("float64")
    return (100.0 * total_interactions / denominator.where(denominator > 0)).astype("float64")


def estimate_reach(
    post_type: pd.Series, likes: pd.Series, plays: pd.Series, followers: pd.Series
) -> pd.Series:
    """The original's reach estimate; missing where its inputs are."""
    f = followers.astype("float64").where(followers > 0)
    reels = plays.astype("float64") * (0.94 - 0.001 * np.log2(f))
    n_likes = likes.astype("float64").where(likes > 0)
    static = (7.6 - 0.7 * np.log10(n_likes)) * 0.85 * n_likes
    static = static.where(likes.astype("float64") != 0, 0.0)  # no likes: nobody to count
    is_video = post_type.isin(["reels", "video", "short"])
    return reels.where(is_video, static).astype("float64")
