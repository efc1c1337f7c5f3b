"""The launchpad job: targets validated against the flow registry, queued like the HTTP
intake queues them, with what was queued and rejected in the run's output."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from sqlalchemy import Engine, select

from beat.flows import FLOWS, FlowRejected
from beat.intake.targets import id_param, params_for
from beat.store.models import scrape_request_log
from beat_dagster.jobs.requests import FlowName, scrape_requests_job
from beat_dagster.resources import DatabaseResource


def launch(database_url: str, **config) -> dg.ExecuteInProcessResult:
    return scrape_requests_job.execute_in_process(
        run_config={"ops": {"submit_scrape_requests": {"config": config}}},
        resources={"database": DatabaseResource(url=database_url)},
        raise_on_error=False,
    )


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    for event in result.all_node_events:
        if event.is_successful_output:
            return {k: getattr(v, "value", v) for k, v in event.step_output_data.metadata.items()}
    return {}


def rows(engine: Engine) -> list:
    with engine.connect() as conn:
        query = select(
            scrape_request_log.c.flow, scrape_request_log.c.params, scrape_request_log.c.status,
            scrape_request_log.c.priority, scrape_request_log.c.source,
        ).order_by(scrape_request_log.c.id)  # fmt: skip
        return [tuple(r) for r in conn.execute(query).all()]


def test_good_targets_are_queued_and_bad_ones_reported(database_url: str, engine: Engine) -> None:
    result = launch(
        database_url, flow="refresh_profile_by_handle", priority=7,
        targets=["nasa", " natgeo ", "not a handle!", "", '{"handle": "cern"}', '{"handle": 5}'],
    )  # fmt: skip
    assert result.success
    summary = result.output_for_node("submit_scrape_requests")
    assert list(summary["rejected"]) == ["not a handle!", "", '{"handle": 5}']
    assert "handle" in summary["rejected"]["not a handle!"]
    assert summary["rejected"][""] == "empty target"
    assert rows(engine) == [
        ("refresh_profile_by_handle", {"handle": h}, "PENDING", 7, "dagster_launchpad")
        for h in ("nasa", "natgeo", "cern")
    ]
    meta = output_metadata(result)
    assert (meta["queued"], meta["created"], meta["rejected"]) == (3, 3, 3)
    assert "not a handle!" in meta["rejected_targets"] and "natgeo" in meta["queued_requests"]


def test_nothing_valid_fails_the_run_and_writes_nothing(database_url: str, engine: Engine) -> None:
    result = launch(database_url, flow="refresh_post_by_shortcode", targets=["!!", "a b"])
    assert not result.success
    failure = result.failure_data_for_node("submit_scrape_requests")
    assert "all 2 targets were rejected" in failure.error.message
    assert rows(engine) == []


def test_idempotency_prefix_makes_a_second_launch_queue_nothing(
    database_url: str, engine: Engine
) -> None:
    for _ in range(2):
        result = launch(database_url, flow="refresh_post_by_shortcode", targets=["CxYz123"],
                        idempotency_prefix="campaign-42")  # fmt: skip
        assert result.success
    assert output_metadata(result)["created"] == 0
    assert len(rows(engine)) == 1


def test_an_unknown_flow_is_refused_by_the_form(tmp_path) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="refresh_everything"):
        launch(f"sqlite:///{tmp_path / 'beat.db'}", flow="refresh_everything", targets=["x"])


def test_every_registered_flow_is_in_the_form() -> None:
    assert sorted(member.value for member in FlowName) == sorted(FLOWS)


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_each_flow_maps_a_bare_target_or_asks_for_json(flow: str) -> None:
    model = FLOWS[flow].params_model
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    if len(required) == 1:
        assert id_param(FLOWS[flow]) == required[0]
        assert params_for(FLOWS[flow], " x ") == {required[0]: "x"}
    else:
        with pytest.raises(FlowRejected, match="JSON object"):
            params_for(FLOWS[flow], "x")


def test_a_multi_param_flow_takes_json_targets(database_url: str, engine: Engine) -> None:
    good = {"entity_type": "PROFILE", "entity_id": "42", "platform": "INSTAGRAM",
            "original_url": "https://cdn.example/42.jpg"}  # fmt: skip
    result = launch(database_url, flow="asset_upload_flow",
                    targets=[json.dumps(good), "https://cdn.example/1.jpg", "{not json"])  # fmt: skip
    assert result.success
    summary = result.output_for_node("submit_scrape_requests")
    assert "JSON object" in summary["rejected"]["https://cdn.example/1.jpg"]
    assert "not valid JSON" in summary["rejected"]["{not json"]
    (row,) = rows(engine)
    assert row[0] == "asset_upload_flow" and row[1]["entity_id"] == "42"
