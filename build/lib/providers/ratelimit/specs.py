"""Rate specs as data (plain literals only; ``policy.RateSpecs`` reads them).

Provider entries are keyed by the provider NAME the crawler uses, never by URL substring: the
original engine matched hosts by substring and its JoTucker pattern ("instagram-scraper22") never
matched the real host, so JoTucker ran unthrottled. A name lookup cannot miss silently: unknown
names get ``DEFAULT``.

A spec is ``{"rate": units, "period": seconds}`` plus optional ``"burst"`` (see
``providers.ratelimit.core``: at most ``rate`` per any window of ``period``; ``burst`` 1 = paced,
the default). ``None`` means no provider-level limit (the stacked global and per-handle limits
still apply). Figures are the original engine's, i.e. the provider plans it was bought on;
keep ~10% under a provider's real limit (Redis failover can lose the last few TATs) and treat
the provider's own 429 as the final word.
"""

from __future__ import annotations

from typing import Any

SPECS: dict[str, Any] = {
    "providers": {
        # ---- Instagram
        # Graph API limits are dynamic, per app/token (X-App-Usage, X-Business-Use-Case-Usage);
        # a static spec cannot express them. Throttling codes 4/17/32/613/80002 cool the
        # credential instead (providers.credentials).
        "graphapi": None,
        "arraybobo": {"rate": 100, "period": 30},  # RapidAPI instagram-scraper-2022
        "jotucker": {"rate": 5, "period": 1},  # RapidAPI instagram-scraper2
        "bestsolutions": {"rate": 2, "period": 1},  # RapidAPI insta-best-performance
        "rocketapi": {"rate": 100, "period": 30},
        # No spec in the original (NeoTank and IGApi were registered but unused; Lama had no
        # limiter). 5/s is the most common per-second plan among the RapidAPI scrapers above.
        "neotank": {"rate": 5, "period": 1},
        "igapi": {"rate": 5, "period": 1},
        "lama": {"rate": 5, "period": 1},
        # ---- YouTube
        "youtube138": {"rate": 850, "period": 60},
        "yt-v31": {"rate": 500, "period": 60},
        "youtube-v311": {"rate": 3, "period": 1},
        # YouTube Data API: a quota of units per key per day (10,000 by default, reset at
        # midnight Pacific); it is per credential, not per provider: quotaExceeded cools the key.
        "ytapitoken": None,
        "ytapi": None,
        # ---- Others: Shopify politeness is per store (pass the store as the handle to get the
        # per-handle limit); CDN image fetches are not metered.
        "shopify": None,
        "cdn": None,
    },
    # Names used elsewhere (the original's source names, RapidAPI host slugs) -> names above.
    "aliases": {
        "rapidapi-arraybobo": "arraybobo",
        "instagram-scraper-2022": "arraybobo",
        "rapidapi-jotucker": "jotucker",
        "instagram-scraper2": "jotucker",
        "rapidapi-bestsolutions": "bestsolutions",
        "insta-best-performance": "bestsolutions",
        "rapidapi-neotank": "neotank",
        "instagram130": "neotank",
        "rapidapi-igapi": "igapi",
        "igdata": "igapi",
        "rocket": "rocketapi",
        "lamadava": "lama",
        "youtube-data-api": "ytapitoken",
    },
    # Providers not listed above: a polite pace rather than none.
    "default": {"rate": 5, "period": 1},
    # Stacked on every request through limits_for (the original's API refresh budget):
    # 20,000 per any 24 h; burst 1000 lets work resume quickly after idle, at the price of a
    # sustained 19,001/day (rate - burst + 1); and 60 per any minute, paced (one per second).
    "global": {
        "day": {"rate": 20000, "period": 86400, "burst": 1000},
        "minute": {"rate": 60, "period": 60},
    },
    # Per target handle (key includes the handle), across providers.
    "per_handle": {"rate": 1, "period": 1},
}
