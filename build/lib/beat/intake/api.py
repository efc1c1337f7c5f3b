"""The intake HTTP API (aiohttp), keeping the original routes and envelopes.

Envelopes are the original's `{"status": {"type": "SUCCESS"|"ERROR", "message", ...}}`, but
unlike the original, errors also carry a real HTTP status code (4xx for the caller's
mistakes), so clients and proxies can tell failure from success without parsing bodies.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from beat.flows import FLOWS, FlowRejected
from beat.intake.refresh import InlineRefresher
from beat.intake.submission import Submission, parse_submission
from beat.store.control import is_claiming, set_claiming
from beat.store.queue import RequestQueue
from providers.errors import BadInput, Deferred, ProviderError, TargetFact

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
QUEUE_KEY = web.AppKey("queue", RequestQueue)
TOKEN_KEY = web.AppKey("token", str)
REFRESHER_KEY = web.AppKey("refresher", InlineRefresher)
#: The original API's error code for "the rate limiter said no" (kept for its clients).
CONCURRENCY_LIMIT_CODE = 2

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def success(message: str, http_status: int = 200, **payload: Any) -> web.Response:
    body = {"status": {"type": "SUCCESS", "message": message}, **payload}
    return web.json_response(body, status=http_status, dumps=_dumps)


def error(
    message: str, http_status: int, *, code: int | None = None, **payload: Any
) -> web.Response:
    body = {"status": {"type": "ERROR", "message": message, "code": code or http_status}}
    return web.json_response({**body, **payload}, status=http_status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@web.middleware
async def envelope_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as an ERROR envelope with its HTTP status, never a stack trace."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error(f"request body is larger than {MAX_BODY_BYTES} bytes", 413)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error(exc.reason, exc.status)
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error("internal error", 500)


def _authorized(request: web.Request) -> bool:
    expected = request.app[TOKEN_KEY]
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), expected.encode())


def require_token(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return error("missing Authorization: Bearer <token> header", 401)
        if not _authorized(request):
            return error("invalid API token", 403)
        return await handler(request)

    return guarded


async def _read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY_BYTES, actual_size=request.content_length
        )
    raw = await request.read()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FlowRejected(f"body is not valid JSON: {exc}") from None


@require_token
async def create_request(request: web.Request) -> web.Response:
    flow_name = request.match_info["flow"]
    try:
        body = await _read_json(request)
        submission = parse_submission(
            flow_name, body, account_id=request.headers.get("x-bb-account-id")
        )
    except FlowRejected as exc:
        status = 404 if str(exc).startswith("unknown flow") else 400
        return error(str(exc), status)
    enqueued = await asyncio.to_thread(enqueue_submission, request.app[QUEUE_KEY], submission)
    message = "scrape request created" if enqueued.created else "scrape request already exists"
    return success(
        message,
        201 if enqueued.created else 200,
        scrape_id=enqueued.id,
        created=enqueued.created,
        scrape_status=enqueued.status,
    )


def enqueue_submission(queue: RequestQueue, submission: Submission) -> Any:
    return queue.enqueue(
        submission.flow.name,
        submission.platform,
        submission.params,
        idempotency_key=submission.idempotency_key,
        priority=submission.priority,
        expires_at=submission.expires_at,
        account_id=submission.account_id,
        source=submission.source,
    )


async def get_request(request: web.Request) -> web.Response:
    raw_id = request.match_info["id"]
    if not raw_id.isdigit():
        return error(f"scrape request id must be a positive integer, got {raw_id!r}", 400)
    record = await asyncio.to_thread(request.app[QUEUE_KEY].get, int(raw_id))
    if record is None:
        return error(f"no scrape request with id {raw_id}", 404)
    return success("scrape request found", scrape_request_log=public_view(record))


def public_view(record: Any) -> dict[str, Any]:
    fields = (
        "id", "idempotency_key", "flow", "platform", "params", "status", "priority",
        "retry_count", "attempt", "created_at", "picked_at", "scraped_at", "expires_at",
        "run_after", "data", "account_id", "batch_id", "dagster_run_id", "provider", "last_error",
    )  # fmt: skip
    return {name: getattr(record, name, None) for name in fields}


@require_token
async def get_profile(request: web.Request) -> web.Response:
    """The stored profile, refreshed inline through the rate limits when older than a day
    (or ``force_refresh=true``). Token required: a refresh spends provider budget."""
    if request.match_info["platform"].lower() != "instagram":
        return error("inline refresh serves platform instagram only", 404)
    force = request.query.get("force_refresh", "false").lower() == "true"
    try:
        answer = await request.app[REFRESHER_KEY].profile(request.match_info["handle"], force=force)
    except Deferred as exc:
        wait = max(1, round(exc.retry_after or 1))
        if exc.denied_by is None:  # the limiter's store is down: it failed closed
            response = error("rate limiter unavailable; try again later", 503, retry_after=wait)
        else:
            response = error(
                "Concurrency Limit Exceeded", 429, code=CONCURRENCY_LIMIT_CODE, retry_after=wait
            )
        response.headers["Retry-After"] = str(wait)
        return response
    except BadInput as exc:
        return error(str(exc), 400)
    except TargetFact as exc:
        return error(str(exc), 404)
    except ProviderError as exc:
        return error(f"no provider could refresh the profile: {exc}", 502)
    return success("profile", profile=answer.profile, refreshed=answer.refreshed)


async def get_heartbeat(request: web.Request) -> web.Response:
    """200 while beat claims work; after a drain, 200 while requests are still in flight
    (runs finish their batches) and 410 once none is: safe to stop."""
    queue = request.app[QUEUE_KEY]
    if await asyncio.to_thread(is_claiming, queue.engine):
        return success("beat is up")
    in_flight = await asyncio.to_thread(queue.processing_count, list(FLOWS))
    if in_flight:
        return success(f"beat is draining: {in_flight} requests in flight", in_flight=in_flight)
    return error("beat is drained: nothing is claimed, nothing in flight", 410)


@require_token
async def put_heartbeat(request: web.Request) -> web.Response:
    """``beat=false`` drains (the batch sensors of every process stop claiming); ``true``
    resumes."""
    value = request.query.get("beat", "").lower()
    if value not in {"true", "false"}:
        return error("query parameter beat must be true or false", 400)
    await asyncio.to_thread(set_claiming, request.app[QUEUE_KEY].engine, value == "true")
    return success(f"heartbeat set to {value}")


def build_api(
    queue: RequestQueue, *, token: str, refresher: InlineRefresher | None = None
) -> web.Application:
    if not token:
        raise ValueError("the intake API needs a token for writes: set BEAT_API_TOKEN")
    app = web.Application(middlewares=[envelope_errors], client_max_size=MAX_BODY_BYTES)
    app[QUEUE_KEY] = queue
    app[TOKEN_KEY] = token
    app.router.add_post("/scrape_request_log/flow/{flow}", create_request)
    app.router.add_get("/scrape_request_log/flow/{id}", get_request)
    app.router.add_get("/heartbeat", get_heartbeat)
    app.router.add_put("/heartbeat", put_heartbeat)
    if refresher is not None:
        app[REFRESHER_KEY] = refresher
        app.router.add_get("/profiles/{platform}/byhandle/{handle}", get_profile)
        app.on_startup.append(lambda _: refresher.start())
        app.on_cleanup.append(lambda _: refresher.close())
    return app
