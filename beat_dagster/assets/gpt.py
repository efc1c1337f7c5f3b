"""GPT attributes: one asset per prompt (group ``gpt``), downstream of Instagram profiles.

Each asset's ``code_version`` is its prompt's newest version, so a new prompt version shows
the asset as changed in the UI. A backfill of past days re-parses their stored completions
(no call) and queues re-asks for the rows an older prompt version produced.
"""

from dataclasses import dataclass
from typing import Any

import aiohttp
import dagster as dg

from beat.flows import FAMILIES
from beat.objects import ObjectStore
from beat.pipeline.gpt import KINDS, PIPELINE
from beat.store.gpt import answered_lookup
from beat_dagster.assets.batches import build_batch_assets
from beat_dagster.resources import CrawlerResource, DatabaseResource, RateLimiterResource
from providers.credentials import CredentialSource
from providers.llm import GptCrawler, load_deployment, price_table, prompt_book
from providers.ratelimit import RateLimiter


@dataclass(frozen=True)
class GptRunSupport:
    """What a GPT run's crawler takes from the run: the shared limiter and the database."""

    limiter: RateLimiter
    wait_seconds: float
    database: DatabaseResource


def gpt_run_support(
    resource: RateLimiterResource, limiter: RateLimiter, database: DatabaseResource
) -> GptRunSupport:
    return GptRunSupport(limiter, resource.wait_seconds, database)


def build_gpt_crawler(
    _resource: CrawlerResource,
    _session: aiohttp.ClientSession,
    credentials: CredentialSource,
    support: Any,
    _store: ObjectStore,
) -> GptCrawler:
    # The deployment (endpoint, model, limits) is read from the environment at run time,
    # like every other setting of the code location (providers/llm/config.py).
    crawler = GptCrawler(
        load_deployment(),
        credentials,
        price_table(),
        limiter=support.limiter,
        wait_seconds=support.wait_seconds,
    )
    crawler.answered = answered_lookup(support.database.engine())
    return crawler


def gpt_specs() -> dict[str, dg.AssetSpec]:
    book = prompt_book()
    return {
        kind: dg.AssetSpec(
            f"gpt_{kind}",
            description=f"GPT attributes from prompt {kind} (table gpt_attribute).",
            group_name="gpt",
            kinds={"openai", "sql"},
            deps=[dg.AssetKey("instagram_profiles")],
            code_version=book.active(kind).version,
            metadata={"prompt_file": f"prompts/{kind}/{book.active(kind).version}.yaml"},
        )
        for kind in KINDS
    }


gpt_batch, gpt_batch_job = build_batch_assets(
    FAMILIES["gpt"], PIPELINE, gpt_specs(), build_gpt_crawler, run_support=gpt_run_support
)
