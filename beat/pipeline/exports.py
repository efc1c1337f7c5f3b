"""YouTube CSV exports: scrape, then write a CSV and its Parquet twin to the object store.

The original ran ClickHouse `INSERT INTO FUNCTION s3(...)`; here rows stream through pyarrow
into two local temporary files, one record batch per provider chunk, so memory stays bounded
by a chunk whatever the export's size, and the files are then uploaded (S3 multipart upload,
or a move into the local folder). Inputs are id lists or a CSV already in the object store
(read with pandas, in chunks). Key layout (README "YouTube"):

    exports/youtube/{flow}/{YYYY-MM-DD}/{params digest}.csv   (and .parquet)

The same params on the same day write the same keys: a re-run replaces its export. The
request's `data` says where it went: {"<name>_csv": url, "<name>_parquet": url, "rows": n}.
Exports keep no raw responses: they are files, not rows a backfill rebuilds.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from beat.objects import LocalFolderStore, ObjectStore, S3Store
from beat.pipeline.family import FamilyPipeline, FlowOutcome
from providers.errors import BadInput, NoProviderAvailable, TargetNotFound
from providers.youtube.crawler import YouTubeCrawler
from providers.youtube.model import YouTubeChannel, YouTubeVideo

EXPORTS = "exports"
#: Ids a provider call takes at most (channels.list and videos.list: 50).
CHUNK = 50
#: Rows buffered before a record batch (and a Parquet row group) is written: what bounds
#: an export's memory, whatever its size.
BATCH_ROWS = 5_000
#: An input CSV is read this many rows at a time.
READ_CHUNK = 10_000


@dataclass
class ExportTools:
    """What an export handler works with: the crawler, and the store it writes to."""

    crawler: YouTubeCrawler
    objects: ObjectStore

    @property
    def on_call(self) -> Any:
        """The batch runner traces every HTTP call through this hook of the crawler."""
        return self.crawler.on_call

    @on_call.setter
    def on_call(self, hook: Any) -> None:
        self.crawler.on_call = hook


@dataclass(frozen=True)
class ExportOutcome(FlowOutcome):
    """An export's outcome: where its files went (the request's `data`) and how many rows."""

    location: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return json.dumps(self.location, sort_keys=True)


# -- the files -----------------------------------------------------------------------------


CHANNEL_SCHEMA = pa.schema(
    [
        ("channel_id", pa.string()), ("handle", pa.string()), ("title", pa.string()),
        ("description", pa.string()), ("country", pa.string()),
        ("published_at", pa.timestamp("s", tz="UTC")), ("subscribers", pa.int64()),
        ("is_subscriber_count_hidden", pa.bool_()), ("uploads", pa.int64()),
        ("views", pa.int64()), ("uploads_playlist_id", pa.string()), ("thumbnail", pa.string()),
    ]
)  # fmt: skip

VIDEO_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()), ("channel_id", pa.string()), ("channel_title", pa.string()),
        ("title", pa.string()), ("description", pa.string()),
        ("published_at", pa.timestamp("s", tz="UTC")), ("post_type", pa.string()),
        ("duration", pa.int64()), ("views", pa.int64()), ("likes", pa.int64()),
        ("comments", pa.int64()), ("category_id", pa.string()), ("audio_language", pa.string()),
        ("tags", pa.string()), ("playlist_id", pa.string()), ("keyword", pa.string()),
    ]
)  # fmt: skip


def channel_record(c: YouTubeChannel) -> dict[str, Any]:
    return {
        "channel_id": c.channel_id, "handle": c.handle, "title": c.title,
        "description": c.description, "country": c.country, "published_at": c.published_at,
        "subscribers": c.subscriber_count, "is_subscriber_count_hidden": c.hidden_subscriber_count,
        "uploads": c.video_count, "views": c.view_count,
        "uploads_playlist_id": c.uploads_playlist_id, "thumbnail": c.thumbnail,
    }  # fmt: skip


def video_record(v: YouTubeVideo, **extra: str | None) -> dict[str, Any]:
    return {
        "video_id": v.video_id, "channel_id": v.channel_id, "channel_title": v.channel_title,
        "title": v.title, "description": v.description, "published_at": v.published_at,
        "post_type": v.post_type, "duration": v.duration_seconds, "views": v.view_count,
        "likes": v.like_count, "comments": v.comment_count, "category_id": v.category_id,
        "audio_language": v.audio_language, "tags": "|".join(v.tags) if v.tags else None,
        "playlist_id": extra.get("playlist_id"), "keyword": extra.get("keyword"),
    }  # fmt: skip


class ExportFiles:
    """A CSV and a Parquet file written batch by batch (bounded memory), then uploaded."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows = 0
        self._pending: list[dict[str, Any]] = []
        self._dir = Path(tempfile.mkdtemp(prefix="beat-export-"))
        self.csv_path = self._dir / "export.csv"
        self.parquet_path = self._dir / "export.parquet"
        self._csv = pa_csv.CSVWriter(str(self.csv_path), schema)
        self._parquet = pq.ParquetWriter(str(self.parquet_path), schema, compression="zstd")

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        self._pending += records
        self.rows += len(records)
        if len(self._pending) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = pa.RecordBatch.from_pylist(self._pending, schema=self.schema)
        self._csv.write_batch(batch)
        self._parquet.write_batch(batch)  # one row group per batch
        self._pending = []

    def close(self) -> None:
        self._flush()
        self._csv.close()
        self._parquet.close()

    def discard(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def export_key(flow: str, params: dict[str, Any], day: date) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return f"exports/youtube/{flow}/{day.isoformat()}/{digest[:16]}"


def upload_file(store: ObjectStore, key: str, path: Path, content_type: str) -> str:
    """Stream a file into the store (never whole in memory); returns its URL."""
    if isinstance(store, S3Store):
        store.client.upload_file(
            str(path), store.bucket, store.prefix + key, ExtraArgs={"ContentType": content_type}
        )
        return f"s3://{store.bucket}/{store.prefix}{key}"
    if isinstance(store, LocalFolderStore):
        target = store._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        return target.as_uri()
    store.put(key, path.read_bytes(), content_type)  # another store: no streaming API
    return key


def publish(
    tools: ExportTools, flow: str, params: dict[str, Any], files: ExportFiles, provider: str
) -> ExportOutcome:
    """Close, upload both files and say where they went."""
    files.close()
    try:
        key = export_key(flow, params, datetime.now(UTC).date())
        name = flow.removeprefix("fetch_").removesuffix("_csv")
        location = {
            f"{name}_csv": upload_file(tools.objects, key + ".csv", files.csv_path, "text/csv"),
            f"{name}_parquet": upload_file(
                tools.objects,
                key + ".parquet",
                files.parquet_path,
                "application/vnd.apache.parquet",
            ),
            "rows": files.rows,
        }
    finally:
        files.discard()
    return ExportOutcome(provider or "none", {EXPORTS: (location,)}, location=location)


# -- inputs: ids given, or a CSV already in the object store ---------------------------------


def input_values(
    objects: ObjectStore, params: dict[str, Any], ids_key: str, path_key: str, column: str
) -> Iterator[list[str]]:
    """The inputs in chunks: `params[ids_key]`, else column `column` (or the first) of the CSV
    at key `params[path_key]`, read with pandas `READ_CHUNK` rows at a time."""
    given = params.get(ids_key)
    if given:
        yield list(given)
        return
    key = params.get(path_key)
    if not key:
        raise BadInput(f"give {ids_key} or {path_key}")
    try:
        data = objects.get(key)
    except (FileNotFoundError, KeyError) as exc:
        raise BadInput(f"{path_key}: no object {key!r} in the store") from exc
    except Exception as exc:  # S3's NoSuchKey is a botocore ClientError
        if "NoSuchKey" in str(exc) or "404" in str(exc):
            raise BadInput(f"{path_key}: no object {key!r} in the store") from exc
        raise
    with pd.read_csv(io.BytesIO(data), dtype=str, chunksize=READ_CHUNK) as reader:
        for frame in reader:
            name = column if column in frame.columns else frame.columns[0]
            values = [v.strip() for v in frame[name].dropna() if v.strip()]
            if values:
                yield values


def chunked(chunks: Iterator[list[str]], size: int) -> Iterator[list[str]]:
    pending: list[str] = []
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def _within(published: datetime | None, params: dict[str, Any]) -> bool:
    start, end = params.get("start_date"), params.get("end_date")
    if start is None and end is None:
        return True
    if published is None:
        return False
    day = published.astimezone(UTC).date()
    return (start is None or day >= date.fromisoformat(start)) and (
        end is None or day <= date.fromisoformat(end)
    )


async def _quietly(fetch: Any) -> Any:
    """A chunk whose ids all are unknown is an empty chunk, not a failed export."""
    try:
        return await fetch
    except TargetNotFound:
        return None


# -- the exports ---------------------------------------------------------------------------


async def _stream(
    tools: ExportTools, flow: str, params: dict[str, Any], schema: pa.Schema,
    batches: AsyncIterator[tuple[list[dict[str, Any]], str]],
) -> ExportOutcome:  # fmt: skip
    files = ExportFiles(schema)
    provider = ""
    try:
        async for records, used in batches:
            files.write(records)
            provider = used or provider
    except BaseException:
        files.close()
        files.discard()
        raise
    return publish(tools, flow, params, files, provider)


async def fetch_channels_csv(tools: ExportTools, params: dict[str, Any]) -> ExportOutcome:
    async def batches() -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        ids = input_values(tools.objects, params, "channel_ids", "channels_path", "channel_id")
        for chunk in chunked(ids, CHUNK):
            fetched = await _quietly(tools.crawler.channels(chunk))
            if fetched is not None:
                yield [channel_record(c) for c in fetched.value], fetched.provider

    return await _stream(tools, "fetch_channels_csv", params, CHANNEL_SCHEMA, batches())


async def fetch_video_details_csv(tools: ExportTools, params: dict[str, Any]) -> ExportOutcome:
    async def batches() -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        ids = input_values(tools.objects, params, "video_ids", "videos_path", "video_id")
        for chunk in chunked(ids, CHUNK):
            fetched = await _quietly(tools.crawler.videos(chunk))
            if fetched is not None:
                yield [video_record(v) for v in fetched.value], fetched.provider

    return await _stream(tools, "fetch_video_details_csv", params, VIDEO_SCHEMA, batches())


async def _channel_uploads(
    tools: ExportTools, params: dict[str, Any], channel_ids: Iterator[list[str]], tag: bool
) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
    for chunk in channel_ids:
        for channel_id in chunk:
            fetched = await _quietly(tools.crawler.channel_videos(channel_id, params["max_posts"]))
            if fetched is None:
                continue
            playlist = "UU" + channel_id[2:] if tag else None
            records = [
                video_record(v, playlist_id=playlist)
                for v in fetched.value
                if _within(v.published_at, params)
            ]
            yield records, fetched.provider


async def fetch_channel_videos_csv(tools: ExportTools, params: dict[str, Any]) -> ExportOutcome:
    ids = input_values(tools.objects, params, "channel_ids", "channels_path", "channel_id")
    batches = _channel_uploads(tools, params, ids, tag=False)
    return await _stream(tools, "fetch_channel_videos_csv", params, VIDEO_SCHEMA, batches)


async def fetch_playlist_videos_csv(tools: ExportTools, params: dict[str, Any]) -> ExportOutcome:
    """Uploads playlists (``UU...``): the playlist of channel ``UC...`` is its uploads."""
    playlists = input_values(tools.objects, params, "playlist_ids", "playlists_path", "playlist_id")

    def channels() -> Iterator[list[str]]:
        for chunk in playlists:
            for playlist in chunk:
                if not playlist.startswith("UU"):
                    raise BadInput(f"only uploads playlists (UU...) can be listed: {playlist!r}")
            yield ["UC" + p[2:] for p in chunk]

    batches = _channel_uploads(tools, params, channels(), tag=True)
    return await _stream(tools, "fetch_playlist_videos_csv", params, VIDEO_SCHEMA, batches)


async def fetch_keyword_videos_csv(tools: ExportTools, params: dict[str, Any]) -> ExportOutcome:
    async def batches() -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        keywords = input_values(tools.objects, params, "keywords", "keywords_path", "keyword")
        for chunk in keywords:
            for keyword in chunk:
                found = await tools.crawler.search(keyword, params["max_results"])
                ids = [r.video_id for r in found.value if r.video_id]
                for ids_chunk in chunked(iter([ids]), CHUNK):
                    fetched = await _quietly(tools.crawler.videos(ids_chunk))
                    if fetched is None:
                        continue
                    records = [
                        video_record(v, keyword=keyword)
                        for v in fetched.value
                        if _within(v.published_at, params)
                    ]
                    yield records, fetched.provider

    return await _stream(tools, "fetch_keyword_videos_csv", params, VIDEO_SCHEMA, batches())


# -- audience exports: YouTube Analytics with each channel's own grant ----------------------

DEMOGRAPHIC_SCHEMA = pa.schema(
    [
        ("channel_id", pa.string()), ("age_group", pa.string()), ("gender", pa.string()),
        ("viewer_percentage", pa.float64()), ("start_date", pa.string()),
        ("end_date", pa.string()),
    ]
)  # fmt: skip
GEOGRAPHY_SCHEMA = pa.schema(
    [
        ("channel_id", pa.string()), ("country", pa.string()), ("views", pa.int64()),
        ("start_date", pa.string()), ("end_date", pa.string()),
    ]
)  # fmt: skip
#: Without dates, an audience export covers the 90 days up to yesterday (as insights do).
AUDIENCE_DAYS = 90


def _period(params: dict[str, Any]) -> tuple[date, date]:
    end = date.fromisoformat(params["end_date"]) if params.get("end_date") else (
        datetime.now(UTC).date() - timedelta(days=1)
    )  # fmt: skip
    start = (date.fromisoformat(params["start_date"]) if params.get("start_date")
             else end - timedelta(days=AUDIENCE_DAYS - 1))  # fmt: skip
    return start, end


async def _audience(tools: ExportTools, channel_id: str, report: str,
                    start: date, end: date) -> Any:  # fmt: skip
    """The channel's report, or None when the channel has no usable grant of its own (it is
    left out, as an unknown id is); a grant that is only cooling down fails the export, to be
    retried."""
    try:
        return await tools.crawler.insights(channel_id, start, end, reports=(report,))
    except NoProviderAvailable as exc:
        cooling = getattr(tools.crawler.credentials, "cooling_seconds", None)
        if not exc.errors and cooling is not None and cooling("ytapi", handle=channel_id) is None:
            return None
        raise


def _audience_export(flow: str, report: str, schema: pa.Schema, row: Any) -> Any:
    async def export(tools: ExportTools, params: dict[str, Any]) -> ExportOutcome:
        start, end = _period(params)
        days = {"start_date": start.isoformat(), "end_date": end.isoformat()}

        async def batches() -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
            ids = input_values(tools.objects, params, "channel_ids", "channels_path", "channel_id")
            for chunk in ids:
                for channel_id in chunk:
                    fetched = await _audience(tools, channel_id, report, start, end)
                    if fetched is not None:
                        (found,) = fetched.value
                        records = [{"channel_id": channel_id, **row(key, value), **days}
                                   for key, value in found.values.items()]  # fmt: skip
                        yield records, fetched.provider

        return await _stream(tools, flow, params, schema, batches())

    return export


def _age_gender(key: str, value: float) -> dict[str, Any]:
    age, _, gender = key.partition(".")
    return {"age_group": age, "gender": gender, "viewer_percentage": float(value)}


fetch_channel_demographic_csv = _audience_export(
    "fetch_channel_demographic_csv", "gender_age", DEMOGRAPHIC_SCHEMA, _age_gender
)
fetch_channel_audience_geography_csv = _audience_export(
    "fetch_channel_audience_geography_csv", "country", GEOGRAPHY_SCHEMA,
    lambda key, value: {"country": key, "views": int(value)},
)  # fmt: skip


HANDLERS = {
    "fetch_channel_demographic_csv": fetch_channel_demographic_csv,
    "fetch_channel_audience_geography_csv": fetch_channel_audience_geography_csv,
    "fetch_channels_csv": fetch_channels_csv,
    "fetch_channel_videos_csv": fetch_channel_videos_csv,
    "fetch_playlist_videos_csv": fetch_playlist_videos_csv,
    "fetch_keyword_videos_csv": fetch_keyword_videos_csv,
    "fetch_video_details_csv": fetch_video_details_csv,
}


def write_exports(conn: Any, outcomes: Sequence[FlowOutcome], ctx: Any) -> None:
    """Exports write files, not rows: the request's data (its summary) says where."""


def reparse_export(record: dict[str, Any]) -> FlowOutcome:
    """Nothing to rebuild: an export is a file, re-made by re-running its request."""
    return FlowOutcome(str(record["provider"]))


PIPELINE = FamilyPipeline(
    family="youtube_exports",
    kinds=(EXPORTS,),
    handlers=HANDLERS,  # type: ignore[arg-type]
    write=write_exports,
    reparse=reparse_export,
    target_of=lambda params: None,
)
