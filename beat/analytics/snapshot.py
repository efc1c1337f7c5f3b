"""The creator snapshot on integer keys: one factorization of each string key, then numpy.

A million profiles with six posts each is the size this has to handle in seconds. pandas
`groupby`/`merge` on string columns re-hash the strings at every step (measured: most of
the time went to factorizing Arrow strings), so every key is turned into integers once and
the day's grouping, the original's trim and the averages are sorts and `bincount`s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from beat.analytics.engagement import TRIM_ABOVE, TRIM_EACH_END, engagement_rate
from beat.analytics.tables import POST_TYPES

_DAY_US = 86_400 * 1_000_000

#: The post_log columns the snapshot reads (a reader may leave the others out).
POST_COLUMNS = [
    "platform", "post_key", "profile_id", "handle", "post_type", "observed_at",
    "likes", "comments", "views", "plays",
]  # fmt: skip


def _day_numbers(times: pd.Series) -> np.ndarray:
    micros = times.astype("datetime64[us, UTC]").array.asi8 if len(times) else np.zeros(0, np.int64)
    return micros // _DAY_US


def _shared_codes(*columns: pd.Series, sort: bool = False) -> tuple[list[np.ndarray], int]:
    """Integer codes valid across all `columns` (-1 for a missing value), and how many."""
    values = pd.concat([c.reset_index(drop=True) for c in columns], ignore_index=True)
    codes, uniques = pd.factorize(values, sort=sort)
    bounds = np.cumsum([len(c) for c in columns])[:-1]
    return np.split(codes.astype(np.int64), bounds), len(uniques)


def _last_rows(keys: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Positions of the latest row of each key (ties: the later row)."""
    order = np.argsort(times, kind="stable")
    latest = ~pd.Series(keys[order]).duplicated(keep="last").to_numpy()
    return order[latest]


def _floats(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    return frame[column].to_numpy(dtype="float64", na_value=np.nan)[rows]


def _mean(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Mean of the non-missing values of each group (NaN where there is none)."""
    present = ~np.isnan(values)
    total = np.bincount(groups[present], weights=values[present], minlength=size)
    count = np.bincount(groups[present], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def trim_mask(group_starts: np.ndarray, sizes: np.ndarray, total: int) -> np.ndarray:
    """For rows sorted by group then value: True for the rows the original's trim keeps."""
    start = np.repeat(group_starts, sizes)
    count = np.repeat(sizes, sizes)
    position = np.arange(total) - start + 1
    inside = (position > TRIM_EACH_END) & (position <= count - TRIM_EACH_END)
    return (count <= TRIM_ABOVE) | inside


def creator_snapshot(profiles: pd.DataFrame, posts: pd.DataFrame) -> pd.DataFrame:
    """One row per profile per day: its last observation that day and its posts' averages.

    Posts are the last observation of each post that day, joined to their profile by id
    (by handle where the provider named only the handle); the trim orders a profile's
    posts by interactions, ties by shortcode, so a rebuild drops the same posts.
    """
    (plat_p, plat_q), n_plat = _shared_codes(profiles["platform"], posts["platform"])
    (id_p, id_q), n_ids = _shared_codes(profiles["profile_id"], posts["profile_id"])
    day_p, day_q = _day_numbers(profiles["observed_at"]), _day_numbers(posts["observed_at"])
    creator_p = (day_p * n_plat + plat_p) * (n_ids + 1) + id_p
    times_p = profiles["observed_at"].astype("datetime64[us, UTC]").array.asi8

    rows = _last_rows(creator_p, times_p)
    snapshot = profiles.iloc[rows].reset_index(drop=True).rename(columns={"media_count": "posts"})
    keys = pd.Index(creator_p[rows])
    for label in ("category", "country"):  # as last stated that day, not erased by a null
        stated = np.flatnonzero(profiles[label].notna().to_numpy())
        latest = stated[_last_rows(creator_p[stated], times_p[stated])]
        where = keys.get_indexer(creator_p[latest])
        values = np.full(len(snapshot), None, dtype=object)
        values[where] = profiles[label].to_numpy(dtype=object)[latest]
        snapshot[label] = values
    snapshot["date"] = pd.to_datetime(day_p[rows] * _DAY_US, unit="us", utc=True)

    id_q = _ids_from_handles(id_q, posts, profiles, id_p)
    (post_codes,), n_posts = _shared_codes(posts["post_key"], sort=True)
    post_day_key = (day_q * n_plat + plat_q) * (n_posts + 1) + post_codes
    times_q = posts["observed_at"].astype("datetime64[us, UTC]").array.asi8
    post_rows = _last_rows(post_day_key, times_q)
    post_rows = post_rows[id_q[post_rows] >= 0]
    creator_q = ((day_q * n_plat + plat_q) * (n_ids + 1) + id_q)[post_rows]
    _add_post_figures(snapshot, keys, posts, post_rows, creator_q, post_codes[post_rows])
    return snapshot


def _ids_from_handles(
    id_q: np.ndarray, posts: pd.DataFrame, profiles: pd.DataFrame, id_p: np.ndarray
) -> np.ndarray:
    """Posts whose provider named only the handle get the id observed for that handle."""
    missing = np.flatnonzero(id_q < 0)
    if missing.size == 0:
        return id_q
    by_handle = pd.Series(
        id_p, index=profiles["platform"].astype(str) + "\x1f" + profiles["handle"].astype(str)
    )
    by_handle = by_handle[~by_handle.index.duplicated(keep="last")]
    wanted = (
        posts["platform"].astype(str).iloc[missing]
        + "\x1f"
        + posts["handle"].astype(str).iloc[missing]
    )
    found = by_handle.reindex(wanted.to_numpy()).to_numpy(dtype="float64", na_value=np.nan)
    id_q = id_q.copy()
    id_q[missing] = np.where(np.isnan(found), -1, found).astype(np.int64)
    return id_q


def _platform_handle(frame: pd.DataFrame) -> pd.Series:
    return frame["platform"].astype(str) + "\x1f" + frame["handle"].astype(str)


def _add_post_figures(
    snapshot: pd.DataFrame,
    keys: pd.Index,
    posts: pd.DataFrame,
    rows: np.ndarray,
    creators: np.ndarray,
    tie_breakers: np.ndarray,
) -> None:
    likes, comments = _floats(posts, "likes", rows), _floats(posts, "comments", rows)
    interactions = np.nan_to_num(likes) + np.nan_to_num(comments)
    order = np.lexsort((tie_breakers, interactions, creators))
    creators = creators[order]
    starts = np.flatnonzero(np.r_[True, creators[1:] != creators[:-1]][: creators.size])
    sizes = np.diff(np.r_[starts, creators.size])
    groups = np.repeat(np.arange(starts.size), sizes)
    kept = trim_mask(starts, sizes, creators.size)
    n = starts.size
    # where each snapshot row's creator-day sits among the post groups (-1: no posts)
    at = pd.Index(creators[starts]).get_indexer(keys)
    has = at >= 0

    def per_profile(values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        out = np.full(len(keys), fill)
        out[has] = values[at[has]]
        return out

    likes, comments, interactions = likes[order], comments[order], interactions[order]
    kg = groups[kept]
    averaged = np.bincount(kg, minlength=n)
    snapshot["posts_observed"] = per_profile(sizes.astype("float64"), 0.0)
    snapshot["posts_averaged"] = per_profile(averaged.astype("float64"), 0.0)
    snapshot["avg_likes"] = per_profile(_mean(kg, likes[kept], n))
    snapshot["avg_comments"] = per_profile(_mean(kg, comments[kept], n))
    for name in ("views", "plays"):
        snapshot[f"avg_{name}"] = per_profile(_mean(kg, _floats(posts, name, rows)[order][kept], n))
    kept_total = np.bincount(kg, weights=interactions[kept], minlength=n)
    followers = snapshot["followers"].astype("float64")
    snapshot["engagement_rate"] = engagement_rate(
        pd.Series(per_profile(kept_total)), followers, snapshot["posts_averaged"]
    )
    kinds = pd.Categorical(posts["post_type"].to_numpy()[rows][order], categories=POST_TYPES).codes
    for code, kind in enumerate(POST_TYPES):
        mine = kinds == code
        g = groups[mine]
        count = per_profile(np.bincount(g, minlength=n).astype("float64"), 0.0)
        snapshot[f"posts_{kind}"] = count
        snapshot[f"avg_likes_{kind}"] = per_profile(_mean(g, likes[mine], n))
        snapshot[f"avg_comments_{kind}"] = per_profile(_mean(g, comments[mine], n))
        total = per_profile(np.bincount(g, weights=interactions[mine], minlength=n))
        snapshot[f"engagement_rate_{kind}"] = engagement_rate(
            pd.Series(total), followers, pd.Series(count)
        )
