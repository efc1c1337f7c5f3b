"""Local emulator of every provider beat calls (Instagram Graph API and RapidAPI scrapers,
YouTube Data API and scrapers, Shopify), served over real HTTP for tests, demos and
benchmarks, with per-credential quotas and fault switches.

``RATE_LIMITS_FILE`` is the rate-limit override (``BEAT_RATE_LIMITS``) to use against the
sandbox: the providers' own specs stay, the global budget guarding paid quotas is raised.
"""

from pathlib import Path

from sandbox.app import RunningSandbox, build_app, main, serve, start_sandbox
from sandbox.state import (
    DEFAULT_GRAPH_TOKEN,
    DEFAULT_RAPIDAPI_KEY,
    FAULT_MODES,
    FaultSpec,
    SandboxState,
    fingerprint,
)

RATE_LIMITS_FILE = Path(__file__).with_name("ratelimits.json")


def sandbox_credentials(*, expired: bool = False) -> list[tuple[str, dict[str, str], str | None]]:
    """(provider, secret, handle) of every credential the sandbox accepts (or, with
    ``expired``, knows as expired): what `beat demo` and the tests store in the database."""
    state = SandboxState()
    build_app(state)  # registers every provider module
    return state.credential_items(expired=expired)


__all__ = [
    "DEFAULT_GRAPH_TOKEN",
    "DEFAULT_RAPIDAPI_KEY",
    "FAULT_MODES",
    "RATE_LIMITS_FILE",
    "FaultSpec",
    "RunningSandbox",
    "SandboxState",
    "build_app",
    "fingerprint",
    "main",
    "sandbox_credentials",
    "serve",
    "start_sandbox",
]
