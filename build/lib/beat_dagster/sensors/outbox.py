import dagster as dg

from beat_dagster.resources import BrokerResource, DatabaseResource


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Publishes outbox events that batch runs left behind (say, while the broker "
    "was down). Bounded to a few seconds a tick; events are never lost, only delayed.",
)
def outbox_relay_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, broker: BrokerResource
) -> dg.SkipReason:
    report = broker.relay(database.engine(), max_seconds=10.0)
    if report.failures:
        return dg.SkipReason(f"broker unavailable, {report.messages} sent: {report.last_error}")
    return dg.SkipReason(f"relayed {report.messages} events from {report.rows} outbox rows")
