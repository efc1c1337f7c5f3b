"""The creator snapshot on integer keys: one factorization of each string key, then numpy.

A million profiles with six posts each is the size this has to handle in seconds. pandas
`groupby`/`merge` on string columns re-hash the strings at every step (measured: most of
the time went to factorizing Arrow strings), so every key is turned into integers once and
the day's grouping, the original's trim and the averages are sorts and `bincount`s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of `values` (-1 for missing) and the distinct values, hashed by Arrow's
    `dictionary_encode` (measured ~2x faster than `pd.factorize` on Arrow-backed strings)."""
    # one chunk first: chunks encoded separately would number their values separately
    array = pa.chunked_array(pa.array(values, from_pandas=True)).combine_chunks()
    if pa.types.is_null(array.type):  # empty, or nothing but missing values
        return np.full(len(values), -1, dtype=np.int64), pd.Index([])
    encoded = pc.dictionary_encode(array)
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    return codes, pd.Index(encoded.dictionary.to_pandas())


def _codes_like(values: pd.Series, reference: pd.Index) -> np.ndarray:
    """Codes of `values` in `reference`'s numbering (-1 where absent): each distinct string
    is hashed once here and looked up once, instead of concatenating both columns."""
    codes, uniques = _codes(values)
    lookup = np.append(reference.get_indexer(uniques), -1)  # code -1 takes the trailing -1
    return lookup[codes].astype(np.int64)


def _key(
    day: np.ndarray, platform: np.ndarray, n_platforms: int, code: np.ndarray, n_codes: int
) -> np.ndarray:
    """One int64 per (day, platform, code); a missing code (-1) stays distinct from all."""
    return (day * (n_platforms + 1) + platform + 1) * (n_codes + 1) + code + 1


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
    plat_p, platforms = _codes(profiles["platform"])
    id_p, ids = _codes(profiles["profile_id"])
    plat_q = _codes_like(posts["platform"], platforms)
    id_q = _codes_like(posts["profile_id"], ids)
    n_plat, n_ids = len(platforms), len(ids)
    day_p, day_q = _day_numbers(profiles["observed_at"]), _day_numbers(posts["observed_at"])
    creator_p = _key(day_p, plat_p, n_plat, id_p, n_ids)
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
    post_codes, post_keys = _codes(posts["post_key"])
    n_posts = len(post_keys)
    post_day_key = _key(day_q, plat_q, n_plat, post_codes, n_posts)
    times_q = posts["observed_at"].astype("datetime64[us, UTC]").array.asi8
    post_rows = _last_rows(post_day_key, times_q)
    # each post's row in the snapshot (its creator that day); posts of a creator not
    # observed that day, or of no known creator, have none and are left out
    creator_q = _key(day_q, plat_q, n_plat, id_q, n_ids)[post_rows]
    owner = np.where(id_q[post_rows] >= 0, keys.get_indexer(creator_q), -1)
    mine = owner >= 0
    _add_post_figures(snapshot, posts, post_rows[mine], owner[mine])
    return snapshot


def _ids_from_handles(
    id_q: np.ndarray, posts: pd.DataFrame, profiles: pd.DataFrame, id_p: np.ndarray
) -> np.ndarray:
    """Posts whose provider named only the handle get the id observed for that handle."""
    missing = np.flatnonzero(id_q < 0)
    if missing.size == 0:
        return id_q
    by_handle = pd.Series(id_p, index=_platform_handle(profiles))
    by_handle = by_handle[~by_handle.index.duplicated(keep="last")]
    wanted = _platform_handle(posts.iloc[missing])
    found = by_handle.reindex(wanted.to_numpy()).to_numpy(dtype="float64", na_value=np.nan)
    id_q = id_q.copy()
    id_q[missing] = np.where(np.isnan(found), -1, found).astype(np.int64)
    return id_q


def _platform_handle(frame: pd.DataFrame) -> pd.Series:
    return frame["platform"].astype(str) + "\x1f" + frame["handle"].astype(str)


def _trim_order(owner: np.ndarray, interactions: np.ndarray, post_keys: pd.Series) -> np.ndarray:
    """Rows ordered by owner, then interactions, then shortcode (only ties need the string)."""
    # interactions are whole counts: one int64 key (owner in the high bits) sorts in one pass
    counts = np.minimum(interactions, 2**40 - 1).astype(np.int64)
    composite = (owner.astype(np.int64) << 40) | counts
    order = np.argsort(composite, kind="stable")
    ordered = composite[order]
    same = ordered[1:] == ordered[:-1]
    tied = np.r_[same, False] | np.r_[False, same]
    if not tied.any():
        return order
    rank = np.zeros(owner.size, dtype=np.int64)
    rank[order[tied]], _ = pd.factorize(post_keys.iloc[order[tied]].to_numpy(), sort=True)
    return np.lexsort((rank, composite))


def _type_codes(post_types: pd.Series) -> np.ndarray:
    """Index into POST_TYPES per row (-1 for any other type), hashing each string once."""
    codes, uniques = pd.factorize(post_types)
    lookup = np.array([POST_TYPES.index(u) if u in POST_TYPES else -1 for u in uniques] + [-1])
    return lookup[codes]  # a missing type (code -1) takes the trailing -1


def _add_post_figures(
    snapshot: pd.DataFrame, posts: pd.DataFrame, rows: np.ndarray, owner: np.ndarray
) -> None:
    """Posts' counts, trimmed averages and per-type figures onto their snapshot rows."""
    likes, comments = _floats(posts, "likes", rows), _floats(posts, "comments", rows)
    interactions = np.nan_to_num(likes) + np.nan_to_num(comments)
    order = _trim_order(owner, interactions, posts["post_key"].iloc[rows])
    owner = owner[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]][: owner.size])
    sizes = np.diff(np.r_[starts, owner.size])
    kept = trim_mask(starts, sizes, owner.size)
    n = len(snapshot)
    likes, comments, interactions = likes[order], comments[order], interactions[order]
    ko = owner[kept]
    snapshot["posts_observed"] = np.bincount(owner, minlength=n).astype("float64")
    averaged = np.bincount(ko, minlength=n).astype("float64")
    snapshot["posts_averaged"] = averaged
    snapshot["avg_likes"] = _mean(ko, likes[kept], n)
    snapshot["avg_comments"] = _mean(ko, comments[kept], n)
    for name in ("views", "plays"):
        snapshot[f"avg_{name}"] = _mean(ko, _floats(posts, name, rows)[order][kept], n)
    followers = snapshot["followers"].astype("float64")
    kept_total = np.bincount(ko, weights=interactions[kept], minlength=n)
    snapshot["engagement_rate"] = engagement_rate(
        pd.Series(kept_total), followers, pd.Series(averaged)
    )
    kinds = _type_codes(posts["post_type"].iloc[rows])[order]
    for code, kind in enumerate(POST_TYPES):
        mine = kinds == code
        o = owner[mine]
        count = np.bincount(o, minlength=n).astype("float64")
        snapshot[f"posts_{kind}"] = count
        snapshot[f"avg_likes_{kind}"] = _mean(o, likes[mine], n)
        snapshot[f"avg_comments_{kind}"] = _mean(o, comments[mine], n)
        total = np.bincount(o, weights=interactions[mine], minlength=n)
        snapshot[f"engagement_rate_{kind}"] = engagement_rate(
            pd.Series(total), followers, pd.Series(count)
        )
