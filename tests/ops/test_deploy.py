"""What can be checked of the deployment files without a cluster or a Docker engine:
deploy/dagster.yaml loads as a real instance on PostgreSQL, the Helm values agree with it,
and the Dockerfile copies what exists and installs a package that holds what it needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator
from dockerfile_parse import DockerfileParser

from tests.ops.processes import ROOT
from tests.support import scratch_postgres

DEPLOY = ROOT / "deploy"


def _coordinator_limits(config: dict) -> list[dict]:
    return config["run_coordinator"]["config"]["tag_concurrency_limits"]


@pytest.mark.postgres
def test_production_instance_loads_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    with scratch_postgres("beat_ops_instance") as url:
        monkeypatch.setenv("DAGSTER_PG_URL", url.replace("+psycopg://", "+psycopg2://"))
        instance = DagsterInstance.from_config(str(tmp_path))
        try:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
            assert instance.get_runs() == []  # the schema was created and answers
            coordinator = instance.run_coordinator
            assert isinstance(coordinator, QueuedRunCoordinator)
            assert coordinator.get_run_queue_config().max_concurrent_runs == 8
            limits = {
                (rule["key"], str(rule.get("value"))): rule["limit"]
                for rule in coordinator.get_run_queue_config().tag_concurrency_limits
            }
            assert limits[("beat/family", "{'applyLimitPerUniqueValue': True}")] == 4
            assert limits[("beat/family", "media")] == 2
            assert instance.run_monitoring_enabled
            assert instance.run_monitoring_start_timeout_seconds == 180
            assert instance.run_monitoring_max_runtime_seconds == 7200
            assert instance.get_settings("sensors")["use_threads"] is True
        finally:
            instance.dispose()


def test_helm_values_match_the_instance_and_launch_each_run_as_a_pod() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert (
        queued["maxConcurrentRuns"] == instance["run_coordinator"]["config"]["max_concurrent_runs"]
    )
    assert queued["tagConcurrencyLimits"] == _coordinator_limits(instance)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    # Every part that runs beat's code gets the same settings and secrets.
    env_of = [
        launcher,
        values["dagsterDaemon"],
        values["dagsterWebserver"],
        *values["dagster-user-deployments"]["deployments"],
    ]
    assert {str(part["envSecrets"]) for part in env_of} == {"[{'name': 'beat-app'}]"}
    assert {str(part["envConfigMaps"]) for part in env_of} == {"[{'name': 'beat-settings'}]"}
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == _workspace_module()
    # The drain grace must fit in the pod's termination grace period.
    from beat.ops.drain import DEFAULT_GRACE_SECONDS

    grace = launcher["runK8sConfig"]["podSpecConfig"]["terminationGracePeriodSeconds"]
    assert grace > DEFAULT_GRACE_SECONDS
    assert values["postgresql"]["enabled"] is False  # external database, not the subchart


def _workspace_module() -> str:
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    return workspace["load_from"][0]["python_module"]["module_name"]


def test_dockerfile_copies_what_exists_and_serves_the_code_location() -> None:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", parser.baseimage), parser.baseimage
    instructions = parser.structure
    copies = [i["value"].split()[:-1] for i in instructions if i["instruction"] == "COPY"]
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    runs = " ".join(i["value"] for i in instructions if i["instruction"] == "RUN")
    extras = re.findall(r"pip install '\.\[(\w+)\]'", runs)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras and set(extras) <= set(declared["optional-dependencies"])
    assert any(i["instruction"] == "USER" and i["value"] != "root" for i in instructions)
    cmd = yaml.safe_load(next(i["value"] for i in instructions if i["instruction"] == "CMD"))
    assert cmd[cmd.index("--module-name") + 1] == _workspace_module()
    # Every package the image installs is copied in.
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    copied = {source for sources in copies for source in sources}
    for pattern in packages["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied


@pytest.mark.slow
def test_the_image_install_step_builds_a_complete_package(tmp_path: Path) -> None:
    """What `pip install .` in the Dockerfile installs: the wheel, with the migrations, the
    sandbox's rate limits and every subpackage of the code location."""
    # Build from a copy, as the image does from its context: setuptools writes build/ in-tree.
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns(".venv", ".git", ".beat", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, context, ignore=ignore)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(context)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = tmp_path.glob("beat-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "beat/store/migrations/versions/0009_operations.py",
        "beat/store/migrations/env.py",
        "beat_dagster/definitions.py",
        "beat_dagster/jobs/retention.py",
        "beat_dagster/assets/queue_health.py",
        "beat/ops/drain.py",
        "sandbox/ratelimits.json",
    }
    assert expected <= names, expected - names
