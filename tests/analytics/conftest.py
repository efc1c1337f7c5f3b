"""The end-to-end stack (PostgreSQL app database and Dagster instance, sandbox, intake API)
and the S3 API server, shared with the e2e and media tests."""

from tests.e2e.conftest import stack  # noqa: F401
from tests.media.conftest import moto_endpoint  # noqa: F401
