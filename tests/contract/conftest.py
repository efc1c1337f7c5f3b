"""The e2e stack (app and Dagster databases, sandbox, intake API) for the contract tests that
produce their events through real batch runs."""

from tests.e2e.conftest import stack  # noqa: F401  (a fixture, registered by importing it)
