"""Resources wrap the database (queue and warehouse), the object store, the crawler
and its rate limiter."""

from beat_dagster.resources.broker import BrokerResource
from beat_dagster.resources.crawler import CrawlerResource
from beat_dagster.resources.database import DatabaseResource
from beat_dagster.resources.media import MediaResource
from beat_dagster.resources.objects import ObjectStoreResource
from beat_dagster.resources.ratelimit import RateLimiterResource

__all__ = [
    "BrokerResource",
    "CrawlerResource",
    "DatabaseResource",
    "MediaResource",
    "ObjectStoreResource",
    "RateLimiterResource",
]
