"""A list of targets (handles, shortcodes, channel ids, stores) turned into scrape requests.

The launchpad form takes one flow and many targets; each target becomes the flow's single
id param (read from the flow's params model, so flows added later work unchanged), or is
given whole as a JSON object when the flow takes several params. Every request then goes
through `parse_submission`, the validator the HTTP API and the CLI use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from beat.flows import Flow, FlowRejected, get_flow
from beat.intake.submission import Submission, parse_submission
from beat.store.queue import NewRequest, RequestQueue


@dataclass(frozen=True)
class Queued:
    target: str
    scrape_id: int
    created: bool
    status: str


@dataclass(frozen=True)
class Rejected:
    target: str
    reason: str


@dataclass(frozen=True)
class TargetsReport:
    flow: str
    queued: list[Queued]
    rejected: list[Rejected]


def id_param(flow: Flow) -> str:
    """The one param a bare target fills, or FlowRejected when the flow needs several."""
    fields = flow.params_model.model_fields
    required = [name for name, field in fields.items() if field.is_required()]
    if len(required) == 1:
        return required[0]
    if not required and len(fields) == 1:
        return next(iter(fields))
    raise FlowRejected(
        f"flow {flow.name} takes several params ({', '.join(fields)}): "
        'give each target as a JSON object, e.g. {"'
        + '": ..., "'.join(required or fields)
        + '": ...}'
    )


def params_for(flow: Flow, target: str) -> dict[str, Any]:
    text = target.strip()
    if text.startswith("{"):
        try:
            params = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FlowRejected(f"target is not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise FlowRejected("a JSON target must be an object of params")
        return params
    if not text:
        raise FlowRejected("empty target")
    return {id_param(flow): text}


def submit_targets(
    queue: RequestQueue,
    flow_name: str,
    targets: list[str],
    *,
    priority: int = 1,
    idempotency_prefix: str | None = None,
    source: str = "dagster_launchpad",
) -> TargetsReport:
    """Validate every target, enqueue the valid ones in one transaction, report both.

    Raises FlowRejected only for an unknown flow; a bad target is reported and the others
    are still queued. With `idempotency_prefix`, the same target submitted again returns the
    request it already made (key `<prefix>:<flow>:<target>`), as the HTTP API does.
    """
    flow = get_flow(flow_name)
    accepted: list[tuple[str, Submission]] = []
    rejected: list[Rejected] = []
    for target in targets:
        body: dict[str, Any] = {"params": None, "priority": priority, "source": source}
        if idempotency_prefix:
            body["idempotency_key"] = f"{idempotency_prefix}:{flow.name}:{target.strip()}"
        try:
            body["params"] = params_for(flow, target)
            accepted.append((target, parse_submission(flow.name, body)))
        except FlowRejected as exc:
            rejected.append(Rejected(target, str(exc)))
    enqueued = queue.enqueue_many([_new_request(s) for _, s in accepted]) if accepted else []
    queued = [
        Queued(target, e.id, e.created, e.status)
        for (target, _), e in zip(accepted, enqueued, strict=True)
    ]
    return TargetsReport(flow.name, queued, rejected)


def _new_request(submission: Submission) -> NewRequest:
    return NewRequest(
        submission.flow.name,
        submission.platform,
        submission.params,
        idempotency_key=submission.idempotency_key,
        priority=submission.priority,
        expires_at=submission.expires_at,
        account_id=submission.account_id,
        source=submission.source,
    )
