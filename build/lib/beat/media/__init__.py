"""Media: fetch profile pictures and post media safely, store each content once.

The entry point is ``process_media``; ``FetchPolicy`` sets what may be fetched (strict by
default: public http(s) hosts only). No Dagster import: the Dagster asset wires this in.
"""

from beat.media.errors import (
    FetchFailed,
    MediaError,
    NotMedia,
    SignatureExpired,
    Skipped,
    TooLarge,
    UnsafeURL,
)
from beat.media.fetch import Download, SafeFetcher
from beat.media.guard import FetchPolicy
from beat.media.sniff import MediaType, sniff
from beat.media.upload import (
    MediaItem,
    MediaOutcome,
    asset_key,
    media_items_from,
    process_media,
    summarize,
)

__all__ = [
    "Download",
    "FetchFailed",
    "FetchPolicy",
    "MediaError",
    "MediaItem",
    "MediaOutcome",
    "MediaType",
    "NotMedia",
    "SafeFetcher",
    "SignatureExpired",
    "Skipped",
    "TooLarge",
    "UnsafeURL",
    "asset_key",
    "media_items_from",
    "process_media",
    "sniff",
    "summarize",
]
