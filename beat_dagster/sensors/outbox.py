import json

import dagster as dg

from beat_dagster.resources import BrokerResource, DatabaseResource


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Publishes outbox events that batch runs left behind (say, while the broker "
    "was down or blocked publishers). Bounded to a few seconds a tick; events are never lost, "
    "only delayed. The tick says what was sent, what waits and why; the cursor keeps the last "
    "pass as JSON.",
)
def outbox_relay_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, broker: BrokerResource
) -> dg.SkipReason:
    report = broker.relay(database.engine(), max_seconds=10.0)
    if report.failures:
        context.log.warning(f"outbox relay behind: {report.summary()}")
    context.update_cursor(
        json.dumps(
            {
                "messages": report.messages,
                "stopped": report.stopped,
                "backlog": report.backlog,
                "behind": report.behind,
            }
        )
    )
    return dg.SkipReason(report.summary())
