# The beat code location image: the code server, and every batch run (the K8s run launcher
# starts each run as a pod from this same image). The Dagster webserver and daemon use
# Dagster's own images (deploy/helm/values.yaml); the intake API runs from this image too
# (`beat api`).
#
#   docker build -t registry.example.com/beat:$(git rev-parse --short HEAD) .
FROM python:3.11.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/beat

# Dependencies first (pinned in pyproject.toml), so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY beat ./beat
COPY beat_dagster ./beat_dagster
COPY providers ./providers
COPY sandbox ./sandbox
COPY workspace.yaml ./
RUN pip install '.[otel]' \
    && mkdir -p "$DAGSTER_HOME" \
    && useradd --system --uid 10001 --home-dir /opt/beat beat \
    && chown -R beat "$DAGSTER_HOME"

USER beat
EXPOSE 3030 8000

# The code server (Helm: dagster-user-deployments.deployments[].dagsterApiGrpcArgs overrides
# the arguments). Runs use `dagster api execute_run`, which the run launcher supplies.
CMD ["dagster", "code-server", "start", "--host", "0.0.0.0", "--port", "3030", \
     "--module-name", "beat_dagster.definitions", "--location-name", "beat"]
