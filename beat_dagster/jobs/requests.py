"""Scrape requests from the Dagster UI: a launchpad form for analysts.

Pick a flow, paste targets (one handle, shortcode, channel id or store per line), launch.
The requests go through the HTTP intake's validator and queue, so the batch sensors pick
them up like any other; the run's output lists what was queued and what was rejected.
"""

from enum import Enum

import dagster as dg
from pydantic import Field

from beat.analytics.report import markdown_table
from beat.flows import FLOWS, FlowRejected
from beat.intake.targets import TargetsReport, id_param, submit_targets
from beat_dagster.resources import DatabaseResource

#: Every registered flow, as the launchpad's dropdown (flows added to the registry appear).
FlowName = Enum("FlowName", {name: name for name in sorted(FLOWS)})  # type: ignore[misc]


def _flow_help() -> str:
    lines = []
    for name in sorted(FLOWS):
        try:
            target = id_param(FLOWS[name])
        except FlowRejected:
            target = "a JSON object of params"
        lines.append(f"{name}: {target}")
    return "; ".join(lines)


class ScrapeRequestsConfig(dg.Config):
    flow: FlowName = Field(description="The flow to run for every target. " + _flow_help())  # type: ignore[valid-type]
    targets: list[str] = Field(
        description="One target per item: the flow's id (a handle, shortcode, channel id or "
        'store), or a JSON object of params for flows that take several, e.g. {"handle": "nasa"}.'
    )
    priority: int = Field(default=1, description="0-100; higher is claimed first.")
    idempotency_prefix: str | None = Field(
        default=None,
        description="Set it to make launching the same form twice queue nothing new "
        "(each target's key is <prefix>:<flow>:<target>).",
    )


@dg.op(description="Validate targets against the flow registry and enqueue the valid ones.")
def submit_scrape_requests(
    context: dg.OpExecutionContext, config: ScrapeRequestsConfig, database: DatabaseResource
) -> dg.Output[dict]:
    flow = config.flow.value
    report = submit_targets(
        database.queue(),
        flow,
        config.targets,
        priority=config.priority,
        idempotency_prefix=config.idempotency_prefix,
    )
    metadata = report_metadata(report)
    if not report.queued:
        raise dg.Failure(
            description=f"nothing queued: all {len(report.rejected)} targets were rejected",
            metadata=metadata,
        )
    if report.rejected:
        context.log.warning(f"{len(report.rejected)} of {len(config.targets)} targets rejected")
    summary = {
        "flow": flow,
        "queued": [q.scrape_id for q in report.queued],
        "rejected": {r.target: r.reason for r in report.rejected},
    }
    return dg.Output(summary, metadata=metadata)


def report_metadata(report: TargetsReport) -> dict:
    queued = [
        {"target": q.target, "scrape_id": q.scrape_id, "new": q.created, "status": q.status}
        for q in report.queued
    ]
    rejected = [{"target": r.target, "reason": r.reason} for r in report.rejected]
    return {
        "flow": report.flow,
        "queued": len(report.queued),
        "created": sum(q.created for q in report.queued),
        "rejected": len(report.rejected),
        "queued_requests": dg.MetadataValue.md(
            markdown_table(queued, ["target", "scrape_id", "new", "status"])
        ),
        "rejected_targets": dg.MetadataValue.md(markdown_table(rejected, ["target", "reason"])),
    }


@dg.job(
    description="Queue scrape requests for a list of targets (launchpad form). The batch "
    "sensors run them; results appear in the ingestion and analytics assets.",
    executor_def=dg.in_process_executor,
    tags={"beat/source": "launchpad"},
)
def scrape_requests_job() -> None:
    submit_scrape_requests()
