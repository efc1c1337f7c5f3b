"""Run one claimed batch: requests concurrently on asyncio, results written in chunks.

Per-request truth goes to scrape_request_log (COMPLETE, FAILED, or PENDING again with
backoff); rows, statuses and outbox events of a chunk commit in one transaction, and the
raw provider responses of the chunk are stored first, so every stored row can be rebuilt
from its raw response by a backfill.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from beat.events.trace import trace_events
from beat.objects import ObjectStore
from beat.ops.tracing import record_call
from beat.pipeline.family import FamilyPipeline, FlowOutcome, WriteContext
from beat.store.outbox import write_events
from beat.store.queue import ClaimedRequest, Completion, Failure, RequestQueue
from providers.errors import BadInput, Deferred, NoProviderAvailable, ProviderError, TargetFact
from providers.http import HttpCall
from providers.ratelimit import target_handle

log = logging.getLogger(__name__)

#: Builds the family's crawler on the run's HTTP session.
CrawlerFactory = Callable[[aiohttp.ClientSession], Any]
#: Told the batch's figures so far, every `progress_interval_seconds` while it runs.
ProgressHook = Callable[["BatchReport", float], None]


@dataclass
class BatchReport:
    batch_id: str
    requests: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    fenced: int = 0
    #: Rows written, by item kind ("profiles", "posts", ...).
    rows: Counter[str] = field(default_factory=Counter)
    providers: Counter[str] = field(default_factory=Counter)
    failure_reasons: Counter[str] = field(default_factory=Counter)
    raw_objects: int = 0
    #: Chunk writes tried again after the database connection was lost.
    write_retries: int = 0
    #: Requests given back to the queue unfinished because the run was asked to stop.
    handed_back: int = 0
    duration_seconds: float = 0.0
    #: Per item kind, the family's own figures (``FamilyPipeline.tally``).
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def progress(self, elapsed_seconds: float) -> str:
        """One line for an operator watching a long run."""
        settled = self.completed + self.failed
        rate = settled / elapsed_seconds if elapsed_seconds else 0.0
        return (
            f"{settled}/{self.requests} settled ({self.completed} completed, {self.failed} "
            f"failed), {self.retried} to retry, {self.deferred} deferred by rate limits, "
            f"{rate:.1f} requests/s over {elapsed_seconds:.0f} s"
        )

    @property
    def failure_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def metadata(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "retried": self.retried,
            "deferred_by_rate_limits": self.deferred,
            "fenced": self.fenced,
            "failure_rate": round(self.failure_rate, 4),
            "provider_mix": dict(self.providers),
            "failure_reasons": dict(self.failure_reasons.most_common(10)),
            "rows_by_kind": dict(self.rows),
            "raw_objects": self.raw_objects,
            "write_retries": self.write_retries,
            "handed_back_on_stop": self.handed_back,
            "duration_seconds": round(self.duration_seconds, 3),
            "requests_per_second": round(self.requests / self.duration_seconds, 1)
            if self.duration_seconds
            else 0.0,
        }


@dataclass(frozen=True)
class Processed:
    claim: ClaimedRequest
    outcome: FlowOutcome | None = None
    error: str | None = None
    retryable: bool = False
    #: Our own rate limits said "not now": back to the queue after this long, attempt refunded.
    defer_seconds: float | None = None


def classify(exc: BaseException) -> tuple[str, bool]:
    """(reason, retryable): provider faults retry later, facts and bad input never do.

    A reason reads "<kind> <ErrorType>...: <message>", so failures can be counted by kind.
    Provider errors already name their type, provider and status (and hold no secret).
    """
    if isinstance(exc, Deferred):
        return f"deferred {exc}", True
    if isinstance(exc, TargetFact):
        return f"target {exc}", False
    if isinstance(exc, BadInput):
        return f"bad-input {exc}", False
    if isinstance(exc, ProviderError):
        return f"provider {exc}", True
    # A bug of ours: retry (bounded by max_attempts) and keep the type for the operator.
    return f"internal {type(exc).__name__}: {exc}", True


def _defer_seconds(exc: BaseException) -> float | None:
    """Not now, through no fault of the request: our rate limits said wait, or a provider of
    its chain was skipped only because its credentials were cooling (the request did not get
    a fair try). Such a wait costs no attempt; it lasts until the budget or credential is back.
    A provider with no live credential at all does not defer: that needs an operator."""
    if isinstance(exc, Deferred):
        return max(1.0, exc.retry_after or 0.0)
    if isinstance(exc, NoProviderAvailable) and exc.credentials_back_in is not None:
        return max(1.0, exc.credentials_back_in)
    return None


def lost_database(exc: BaseException) -> bool:
    """The database connection was lost or could not be made (a restart, a network blip), or
    the transaction was rolled back by the server (deadlock, serialization): trying the same
    transaction again is safe and may succeed."""
    if isinstance(exc, DisconnectionError):  # the pool found its connection dead
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    )


def reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def raw_prefix(family: str, day: date) -> str:
    return f"raw/{family}/{day.isoformat()}/"


class BatchRunner:
    def __init__(
        self,
        *,
        queue: RequestQueue,
        engine: Engine,
        objects: ObjectStore,
        pipeline: FamilyPipeline,
        crawler_factory: CrawlerFactory,
        concurrency: int = 64,
        flush_size: int = 200,
        flush_interval_seconds: float = 0.5,
        enqueue_media: bool = False,
        on_progress: ProgressHook | None = None,
        progress_interval_seconds: float = 5.0,
        write_patience_seconds: float | None = None,
        stop_grace_seconds: float = 20.0,
    ) -> None:
        self.queue = queue
        self.engine = engine
        self.objects = objects
        self.crawler_factory = crawler_factory
        self.pipeline = pipeline
        self.family = pipeline.family
        self.concurrency = concurrency
        self.flush_size = flush_size
        self.flush_interval = flush_interval_seconds
        self.enqueue_media = enqueue_media
        self.on_progress = on_progress
        self.progress_interval = progress_interval_seconds
        # How long the writer retries a chunk while the database is away: well inside the
        # lease, so the rows are still ours when it comes back.
        self.write_patience = (
            write_patience_seconds
            if write_patience_seconds is not None
            else min(60.0, queue.lease_seconds / 3)
        )
        self.stop_grace_seconds = stop_grace_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def stop(self) -> None:
        """Start no more requests; those in flight get ``stop_grace_seconds`` to finish, the
        rest go back to the queue (attempt given back). Safe from a signal handler or a thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    @property
    def stopping(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    async def run(
        self, claims: Sequence[ClaimedRequest], *, batch_id: str, run_id: str, day: date
    ) -> BatchReport:
        report = BatchReport(batch_id=batch_id, requests=len(claims))
        self._calls: list[HttpCall] = []  # HTTP exchanges since the last flush, for tracing
        started = time.perf_counter()
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        results: asyncio.Queue[Processed | None] = asyncio.Queue()
        keeper = asyncio.create_task(self._keep_leases(batch_id, run_id))
        writer = asyncio.create_task(self._write(results, report, batch_id, run_id, day))
        reporter = asyncio.create_task(self._report_progress(report, started))
        fetching: asyncio.Future[Any] | None = None
        try:
            connector = aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300)
            async with aiohttp.ClientSession(connector=connector) as session:
                crawler = self.crawler_factory(session)
                crawler.on_call = self._on_call
                gate = asyncio.Semaphore(self.concurrency)
                try:
                    fetching = asyncio.gather(
                        *(self._process(crawler, gate, claim, results) for claim in claims)
                    )
                    await self._until_fetched_or_stopped(fetching, writer)
                finally:
                    if hasattr(crawler, "aclose"):  # a crawler with its own client (GPT)
                        await crawler.aclose()
            await results.put(None)
            await writer
            if self.stopping:
                report.handed_back = await asyncio.to_thread(
                    self.queue.release_batch,
                    batch_id,
                    run_id,
                    "handed back: the run was stopped (SIGTERM) before finishing it",
                    give_back=True,
                )
        except BaseException as exc:
            if fetching is not None:
                fetching.cancel()
            writer.cancel()
            await self._release(batch_id, run_id, exc)
            raise
        finally:
            keeper.cancel()
            reporter.cancel()
        report.duration_seconds = time.perf_counter() - started
        return report

    async def _until_fetched_or_stopped(
        self, fetching: asyncio.Future[Any], writer: asyncio.Task[None]
    ) -> None:
        assert self._stopping is not None
        stop = asyncio.create_task(self._stopping.wait())
        try:
            either: set[asyncio.Future[Any]] = {fetching, writer, stop}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if writer.done():  # the writer ends early only when it failed
                writer.result()  # raises its error: stop fetching what nobody can write
            if not fetching.done():  # stopping: what is in flight gets the grace, then is cut
                await asyncio.wait({fetching}, timeout=self.stop_grace_seconds)
                if not fetching.done():
                    log.warning("stop grace over: cutting the requests still in flight")
                    fetching.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await fetching
                    return
            await fetching
        finally:
            stop.cancel()

    def _on_call(self, call: HttpCall) -> None:
        self._calls.append(call)
        record_call(call)  # a provider span, when tracing is on

    async def _release(self, batch_id: str, run_id: str, exc: BaseException) -> None:
        """Hand unfinished rows back at once instead of waiting for their lease to lapse.

        A run that lost its database failed through no fault of its requests: their attempts
        are given back. Any other failure (a bug, a kill) counts, so a request that breaks its
        run every time still ends FAILED after max_attempts.
        """
        database_lost = lost_database(exc)
        reason = f"run failed: {'database unavailable' if database_lost else type(exc).__name__}"
        try:
            await asyncio.to_thread(
                self.queue.release_batch, batch_id, run_id, reason, give_back=database_lost
            )
        except Exception:  # the database may still be away: the rows' leases will lapse
            log.warning("could not release batch %s; its leases will lapse", batch_id)

    async def _process(
        self,
        crawler: Any,
        gate: asyncio.Semaphore,
        claim: ClaimedRequest,
        results: asyncio.Queue[Processed | None],
    ) -> None:
        async with gate:
            if self.stopping:  # left PROCESSING; handed back when the run ends
                return
            try:
                # The per-handle rate limit keys on the request's target.
                with target_handle(self.pipeline.target_of(claim.params)):
                    outcome = await self.pipeline.handlers[claim.flow](crawler, claim.params)
                await results.put(Processed(claim, outcome=outcome))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure becomes a per-request status
                reason, retryable = classify(exc)
                defer = _defer_seconds(exc)
                processed = Processed(claim, error=reason, retryable=retryable, defer_seconds=defer)
                await results.put(processed)

    async def _report_progress(self, report: BatchReport, started: float) -> None:
        """Every few seconds, the figures so far (per item would flood the run's log)."""
        if self.on_progress is None:
            return
        while True:
            await asyncio.sleep(self.progress_interval)
            self.on_progress(report, time.perf_counter() - started)

    async def _keep_leases(self, batch_id: str, run_id: str) -> None:
        interval = max(1.0, self.queue.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.queue.extend_leases, batch_id, run_id)
            except Exception:  # a blip must not kill the run; the next beat retries
                log.warning("could not extend leases of batch %s", batch_id, exc_info=True)

    async def _write(
        self,
        results: asyncio.Queue[Processed | None],
        report: BatchReport,
        batch_id: str,
        run_id: str,
        day: date,
    ) -> None:
        chunk: list[Processed] = []
        deadline = time.monotonic() + self.flush_interval
        sequence = 0
        done = False
        while not done:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = await asyncio.wait_for(results.get(), timeout)
                if item is None:
                    done = True
                else:
                    chunk.append(item)
            except TimeoutError:
                pass
            if chunk and (done or len(chunk) >= self.flush_size or time.monotonic() >= deadline):
                key = (
                    f"{raw_prefix(self.family, day)}{batch_id}/{run_id[:8]}-{sequence:05d}.jsonl.gz"
                )
                calls, self._calls = self._calls, []
                await self._flush_surviving_blips(chunk, report, key, calls)
                sequence += 1
                chunk = []
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_interval

    async def _flush_surviving_blips(
        self,
        chunk: Sequence[Processed],
        report: BatchReport,
        raw_key: str,
        calls: Sequence[HttpCall],
    ) -> None:
        """`flush`, again across a lost database connection, until written or out of patience.

        Safe to repeat: the chunk is one transaction, which either rolled back or committed
        with only its reply lost, and then every completion and settlement in it is fenced
        (status and attempt) and changes nothing twice; the raw object's key is the chunk's
        own. Meanwhile the fetches go on into the results queue, so a short blip (a PostgreSQL
        restart) costs no provider call and throws no result away.
        """
        give_up_at = time.monotonic() + self.write_patience
        delay = 0.2
        while True:
            try:
                await asyncio.to_thread(self.flush, chunk, report, raw_key, calls)
                return
            except Exception as exc:
                if not lost_database(exc) or time.monotonic() + delay > give_up_at:
                    raise
                report.write_retries += 1
                log.warning("writing %d results failed (%s); again in %.1f s", len(chunk),
                            type(exc).__name__, delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def flush(
        self,
        chunk: Sequence[Processed],
        report: BatchReport,
        raw_key: str,
        calls: Sequence[HttpCall] = (),
    ) -> None:
        """Store raw responses, then rows + statuses + events in one transaction."""
        successes = [p for p in chunk if p.outcome is not None]
        if successes:
            self.objects.put(raw_key, self._raw_lines(successes), "application/gzip")
        failures = [
            Failure(
                p.claim.id,
                p.claim.attempt,
                p.error or "unknown",
                p.retryable,
                defer_seconds=p.defer_seconds,
            )
            for p in chunk
            if p.outcome is None
        ]
        with self.engine.begin() as conn:
            done = self.queue.complete(
                [
                    Completion(p.claim.id, p.claim.attempt, p.outcome.provider, p.outcome.summary())
                    for p in successes
                    if p.outcome is not None
                ],
                conn=conn,
            )
            completed = set(done.completed_ids)
            kept = [p.outcome for p in successes if p.claim.id in completed and p.outcome]
            context = WriteContext(queue=self.queue, enqueue_media=self.enqueue_media)
            self.pipeline.write(conn, kept, context)
            failed = self.queue.fail(failures, conn=conn)
            write_events(conn, trace_events(calls))
        report.raw_objects += bool(successes)  # counted once written (a retried chunk: once)
        self._count(report, kept, chunk, done.fenced_ids, failed)
        if self.pipeline.tally is not None:
            self.pipeline.tally(report.details, kept)

    @staticmethod
    def _raw_lines(successes: Sequence[Processed]) -> bytes:
        records = []
        for p in successes:
            assert p.outcome is not None
            records.append(
                raw_record(p.claim.id, p.claim.attempt, p.claim.flow, p.claim.params, p.outcome)
            )
        return raw_lines(records)

    @staticmethod
    def _count(
        report: BatchReport,
        kept: Sequence[FlowOutcome],
        chunk: Sequence[Processed],
        fenced_ids: Sequence[int],
        failed: Any,
    ) -> None:
        report.completed += len(kept)
        report.fenced += len(fenced_ids) + len(failed.fenced_ids)
        report.failed += len(failed.failed_ids)
        deferred = {p.claim.id for p in chunk if p.defer_seconds is not None}
        report.deferred += len(deferred & set(failed.retried_ids))
        report.retried += len(set(failed.retried_ids) - deferred)
        for outcome in kept:
            report.providers[outcome.provider] += 1
            for kind, items in outcome.items.items():
                report.rows[kind] += len(items)
        for p in chunk:
            if p.error and p.claim.id in set(failed.failed_ids) | set(failed.retried_ids):
                report.failure_reasons[reason_kind(p.error)] += 1


def raw_record(
    request_id: int | None, attempt: int, flow: str, params: dict[str, Any], outcome: FlowOutcome
) -> dict[str, Any]:
    """What a stored raw line holds: enough for a backfill to rebuild the rows."""
    return {
        "request_id": request_id,
        "attempt": attempt,
        "flow": flow,
        "params": params,
        "provider": outcome.provider,
        "responses": [r.to_dict() for r in outcome.raw],
    }


def raw_lines(records: Sequence[dict[str, Any]]) -> bytes:
    lines = [json.dumps(record, separators=(",", ":")) for record in records]
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1)


def read_raw_day(objects: ObjectStore, pipeline: FamilyPipeline, day: date) -> list[FlowOutcome]:
    """Re-parse every stored raw response of a day (a backfill: no provider is called)."""
    outcomes = []
    for key in objects.list(raw_prefix(pipeline.family, day)):
        for line in gzip.decompress(objects.get(key)).decode().splitlines():
            outcomes.append(pipeline.reparse(json.loads(line)))
    return outcomes
