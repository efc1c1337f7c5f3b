"""What operators watch about providers: every credential's health and the rate-limit budgets.

``provider_health`` is re-materialized every five minutes (``provider_health_schedule``) and
on demand from the UI. Its metadata holds two tables, credentials (state, cooling until, trips,
last reason, remaining plan budget, never a secret) and rate-limit budgets (units grantable now
per limit), and its checks warn when a credential is dead or a provider in a fallback chain has
no credential left to use.
"""

import asyncio
from collections import Counter
from typing import Any

import dagster as dg

from beat_dagster.resources import CrawlerResource, DatabaseResource, RateLimiterResource
from providers.credentials import CredentialState
from providers.engine import chain_names
from providers.ratelimit import Limit, RateLimiter, RateSpecs

PROVIDER_HEALTH = dg.AssetKey("provider_health")

_CREDENTIAL_COLUMNS = [
    dg.TableColumn("provider", "string"),
    dg.TableColumn("id", "string"),
    dg.TableColumn("fingerprint", "string", description="SHA-256 prefix of the secret"),
    dg.TableColumn("handle", "string"),
    dg.TableColumn("state", "string", description="ok, cooling, probing or dead"),
    dg.TableColumn("cooling_until", "string"),
    dg.TableColumn("trips", "int", description="rate limits in a row"),
    dg.TableColumn("remaining", "int", description="plan budget the provider reported"),
    dg.TableColumn("last_reason", "string"),
]
_BUDGET_COLUMNS = [
    dg.TableColumn("limit", "string"),
    dg.TableColumn("rate", "int"),
    dg.TableColumn("period_seconds", "float"),
    dg.TableColumn("available_now", "float", description="units grantable right now"),
]


def _credential_rows(states: list[CredentialState]) -> list[dg.TableRecord]:
    columns = [c.name for c in _CREDENTIAL_COLUMNS]
    rows = []
    for state in sorted(states, key=lambda s: (s.provider, s.id)):
        data: dict[str, Any] = state.to_dict()
        rows.append(dg.TableRecord({k: data.get(k) for k in columns}))
    return rows


def limits_to_watch(specs: RateSpecs) -> list[Limit]:
    """The global budget and every provider's own limit (per-handle limits are too many)."""
    own = [specs.provider_limit(name) for name in sorted(specs.providers)]
    return [*specs.global_limits_list(), *(lim for lim in own if lim is not None)]


async def _budgets(limiter: RateLimiter, limits: list[Limit]) -> dict[str, float]:
    try:
        return await limiter.remaining(limits)
    finally:
        await limiter.aclose()


def _budget_rows(limits: list[Limit], available: dict[str, float]) -> list[dg.TableRecord]:
    return [
        dg.TableRecord(
            {
                "limit": lim.key,
                "rate": lim.rate,
                "period_seconds": lim.period_seconds,
                "available_now": round(available.get(lim.key, 0.0), 2),
            }
        )
        for lim in limits
    ]


@dg.asset(
    key=PROVIDER_HEALTH,
    group_name="providers",
    description="Credential health (ok / cooling / probing / dead) and rate-limit budgets.",
    check_specs=[
        dg.AssetCheckSpec(
            "no_dead_credentials",
            asset=PROVIDER_HEALTH,
            description="No credential is dead (a dead one is never used again until revived "
            "with `beat credentials revive`).",
        ),
        dg.AssetCheckSpec(
            "every_chained_provider_has_a_credential",
            asset=PROVIDER_HEALTH,
            description="Every provider of a fallback chain has a usable credential (one "
            "without is always skipped).",
        ),
    ],
)
def provider_health(
    database: DatabaseResource, rate_limiter: RateLimiterResource, crawler: CrawlerResource
) -> Any:
    states = database.credential_pool().snapshot()
    limits = limits_to_watch(rate_limiter.specs())
    available = asyncio.run(_budgets(rate_limiter.limiter(), limits))
    counts = Counter(s.state for s in states)
    dead = sorted(f"{s.provider}/{s.id}" for s in states if s.state == "dead")
    usable = {s.provider for s in states if s.state != "dead"}
    chained = {n for chain in crawler.chains.values() for n in chain_names(chain)}
    configured = chained & set(crawler.base_urls)
    uncovered = sorted(configured - usable)
    yield dg.MaterializeResult(
        metadata={
            "credentials": dg.MetadataValue.table(
                _credential_rows(states), dg.TableSchema(_CREDENTIAL_COLUMNS)
            ),
            "rate_limit_budgets": dg.MetadataValue.table(
                _budget_rows(limits, available), dg.TableSchema(_BUDGET_COLUMNS)
            ),
            **{
                f"credentials_{state}": counts.get(state, 0)
                for state in ("ok", "cooling", "probing", "dead")
            },
        }
    )
    yield dg.AssetCheckResult(
        check_name="no_dead_credentials",
        passed=not dead,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"dead": ", ".join(dead) or "none"},
        description="Dead credentials are never used again; replace or re-enable them.",
    )
    yield dg.AssetCheckResult(
        check_name="every_chained_provider_has_a_credential",
        passed=not uncovered,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"without_credential": ", ".join(uncovered) or "none"},
        description="A provider in a fallback chain with no usable credential is always skipped.",
    )


provider_health_job = dg.define_asset_job("provider_health_job", selection=[PROVIDER_HEALTH])
provider_health_schedule = dg.ScheduleDefinition(
    name="provider_health_schedule",
    job=provider_health_job,
    cron_schedule="*/5 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
