"""What the demo submits for YouTube and Shopify (beat/demo.py lists the phases)."""

from __future__ import annotations

from typing import Any

Requests = list[tuple[str, dict[str, Any]]]


def youtube_requests(source: str) -> Requests:
    """The sandbox's catalogue channels in one batched refresh, then some of their uploads."""
    from sandbox.youtube import CATALOGUE, channel_facts, channel_id_for

    channels = [channel_id_for(handle) for handle in CATALOGUE]
    # Uploads of channels the sandbox knows (one id in eight of the catalogue has none).
    known = [f.channel_id for f in (channel_facts(h, 0) for h in CATALOGUE) if f is not None]
    requests: Requests = [
        ("refresh_yt_profiles", {"params": {"channel_ids": channels}, "source": source})
    ]
    requests += [
        ("refresh_yt_posts_by_channel_id", {"params": {"channel_id": c, "max_posts": 10},
                                            "source": source})
        for c in known[:8]
    ]  # fmt: skip
    return requests


def shopify_requests(source: str) -> Requests:
    """Both sandbox stores' orders, every page, and one storefront catalog."""
    stores = ("maple-goods", "north-outfitters")
    requests: Requests = [
        ("refresh_orders_by_store", {"params": {"store": s}, "source": source}) for s in stores
    ]
    requests.append(
        ("refresh_products_by_store", {"params": {"store": stores[0], "max_pages": 2},
                                       "source": source})
    )  # fmt: skip
    return requests
