"""The intake HTTP API (aiohttp), keeping the original routes and envelopes.

Envelopes are the original's `{"status": {"type": "SUCCESS"|"ERROR", "message", ...}}`, but
unlike the original, errors also carry a real HTTP status code (4xx for the caller's
mistakes), so clients and proxies can tell failure from success without parsing bodies.

Access: reads of stored data need no token (the original's clients send none). Writes, and
reads that would spend provider budget (an inline refresh), need ``Authorization: Bearer
<BEAT_API_TOKEN>``, unless the operator declares the network trusted
(``BEAT_API_TRUST_NETWORK=1``): then a request without an Authorization header is let through
as the original let everyone through. A wrong token is refused either way.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy.exc import DataError

from beat.flows import FLOWS, FlowRejected
from beat.intake.bodies import parse_json_body
from beat.intake.envelope import (
    BadRequest,
    clean_text,
    dumps,
    error,
    parse_id,
    query_flag,
    success,
)
from beat.intake.refresh import InlineRefresher
from beat.intake.submission import Submission, parse_submission
from beat.store.control import is_claiming, set_claiming
from beat.store.queue import RequestQueue

__all__ = ["MAX_BODY_BYTES", "build_api", "error", "public_view", "success"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
QUEUE_KEY = web.AppKey("queue", RequestQueue)
TOKEN_KEY = web.AppKey("token", str)
TRUST_KEY = web.AppKey("trust_network", bool)
REFRESHER_KEY = web.AppKey("refresher", InlineRefresher)
#: The operator's switch for legacy callers that send no Authorization header.
TRUST_NETWORK_ENV = "BEAT_API_TRUST_NETWORK"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_dumps = dumps  # the CLI prints records with the API's JSON rendering


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
    except (BadRequest, FlowRejected) as exc:
        return error(str(exc), 400)
    except DataError as exc:  # a value the database refused that no validator caught
        log.warning("database refused a value on %s %s: %s", request.method, request.path,
                    type(exc.orig).__name__)  # fmt: skip
        return error("a value in the request was refused by the database", 400)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error("internal error", 500)


# -- access ------------------------------------------------------------------------------------


def _token_matches(request: web.Request, header: str) -> bool:
    scheme, _, presented = header.partition(" ")
    try:
        given = presented.encode("utf-8")
    except UnicodeEncodeError:  # an undecodable byte arrives as a lone surrogate
        return False
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given, request.app[TOKEN_KEY].encode()
    )


def access_refusal(request: web.Request) -> web.Response | None:
    """None when the caller may write or spend provider budget, else the answer to send."""
    header = request.headers.get("Authorization")
    if header is None:
        if request.app[TRUST_KEY]:
            return None
        return error("missing Authorization: Bearer <token> header", 401)
    if not _token_matches(request, header):
        return error("invalid API token", 403)
    return None


def require_token(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        refusal = access_refusal(request)
        return refusal if refusal is not None else await handler(request)

    return guarded


def trust_network_from_env() -> bool:
    return os.environ.get(TRUST_NETWORK_ENV, "").strip().lower() in {"1", "true", "yes"}


# -- scrape requests ---------------------------------------------------------------------------


async def _read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY_BYTES, actual_size=request.content_length
        )
    return parse_json_body(await request.read())


def _account_id(request: web.Request) -> str | None:
    raw = request.headers.get("x-bb-account-id")
    return None if raw is None else clean_text(raw, "x-bb-account-id header")


@require_token
async def create_request(request: web.Request) -> web.Response:
    flow_name = request.match_info["flow"]
    try:
        body = await _read_json(request)
        submission = parse_submission(flow_name, body, account_id=_account_id(request))
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
    """The request in the original's shape (``post``) and beat's fuller view
    (``scrape_request_log``: attempts, batch, run id, provider, error)."""
    from beat.intake.reads import request_log_view

    request_id = parse_id(request.match_info["id"], "scrape request id")
    record = await asyncio.to_thread(request.app[QUEUE_KEY].get, request_id)
    if record is None:
        return error(f"scrape log not found for scrape_id - {request_id}", 404)
    return success(
        "Scrape Log Data Retrieved",
        post=request_log_view(record),
        scrape_request_log=public_view(record),
    )


def public_view(record: Any) -> dict[str, Any]:
    fields = (
        "id", "idempotency_key", "flow", "platform", "params", "status", "priority",
        "retry_count", "attempt", "created_at", "picked_at", "scraped_at", "expires_at",
        "run_after", "data", "account_id", "batch_id", "dagster_run_id", "provider", "last_error",
    )  # fmt: skip
    return {name: getattr(record, name, None) for name in fields}


# -- heartbeat ---------------------------------------------------------------------------------


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
    resumes. Any boolean spelling the original's FastAPI took (1/0, yes/no, on/off...)."""
    if not request.query.get("beat", "").strip():
        return error("query parameter beat must be true or false", 400)
    claiming = query_flag(request, "beat")
    await asyncio.to_thread(set_claiming, request.app[QUEUE_KEY].engine, claiming)
    return success(f"heartbeat set to {str(claiming).lower()}")


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log lines without query strings: the insights endpoints take a creator's Graph
    token in the query, as the original did, and it must never reach a log."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
            # Fields of the JSON log line (BEAT_LOG_FORMAT=json); the id is the request's own.
            extra={
                "request_id": response.headers.get("X-Request-ID"),
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "ms": round(time * 1000, 1),
            },
        )


def build_api(
    queue: RequestQueue,
    *,
    token: str,
    refresher: InlineRefresher | None = None,
    trust_network: bool | None = None,
    asset_base_url: str | None = None,
) -> web.Application:
    """The API. Without a ``refresher`` the read endpoints serve stored data only and answer
    401/404 where the original would have refreshed inline."""
    from beat.intake import read_routes

    if not token:
        raise ValueError("the intake API needs a token for writes: set BEAT_API_TOKEN")
    app = web.Application(middlewares=[envelope_errors], client_max_size=MAX_BODY_BYTES)
    app[QUEUE_KEY] = queue
    app[TOKEN_KEY] = token
    app[TRUST_KEY] = trust_network_from_env() if trust_network is None else trust_network
    app.router.add_post("/scrape_request_log/flow/update/{id}", require_token(
        read_routes.update_request))  # fmt: skip
    app.router.add_post("/scrape_request_log/flow/{flow}", create_request)
    app.router.add_get("/scrape_request_log/flow/{id}", get_request)
    app.router.add_get("/heartbeat", get_heartbeat)
    app.router.add_put("/heartbeat", put_heartbeat)
    read_routes.add_routes(app, queue.engine, asset_base_url=asset_base_url)
    if refresher is not None:
        app[REFRESHER_KEY] = refresher
        app.on_startup.append(lambda _: refresher.start())
        app.on_cleanup.append(lambda _: refresher.close())
    return app
