import aiohttp
import dagster as dg

from providers.crawler import DEFAULT_CHAINS, InstagramCrawler
from providers.credentials import CredentialSource
from providers.engine import BeforeRequest


class CrawlerResource(dg.ConfigurableResource):
    """The multi-provider Instagram crawler: base URLs, fallback chains and timeouts are data.

    A chain lists provider names in order; an entry "rocketapi=0.7,jotucker=0.3" is a weighted
    group whose order is drawn per fetch."""

    base_urls: dict[str, str]
    chains: dict[str, list[str]] = {k: list(v) for k, v in DEFAULT_CHAINS.items()}
    timeout_seconds: float = 10.0
    concurrency: int = 64

    def crawler(
        self,
        session: aiohttp.ClientSession,
        credentials: CredentialSource,
        before_request: BeforeRequest | None = None,
    ) -> InstagramCrawler:
        return InstagramCrawler(
            session,
            credentials,
            base_urls=self.base_urls,
            chains=self.chains,
            timeout_seconds=self.timeout_seconds,
            before_request=before_request,
        )
