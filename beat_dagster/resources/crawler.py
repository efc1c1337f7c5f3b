import aiohttp
import dagster as dg

from providers.crawler import DEFAULT_CHAINS, InstagramCrawler
from providers.credentials import CredentialSource
from providers.engine import BeforeRequest
from providers.instagram import PROVIDERS
from providers.instagram.graphapi import GRAPH_VERSION, GraphApi
from providers.shopify.crawler import DEFAULT_CHAINS as SHOPIFY_CHAINS
from providers.shopify.crawler import ShopifyCrawler
from providers.youtube.crawler import DEFAULT_CHAINS as YOUTUBE_CHAINS
from providers.youtube.crawler import YouTubeCrawler


class CrawlerResource(dg.ConfigurableResource):
    """The multi-provider crawlers (Instagram, YouTube, Shopify): base URLs, fallback chains
    and timeouts are data.

    A chain lists provider names in order; an entry "rocketapi=0.7,jotucker=0.3" is a weighted
    group whose order is drawn per fetch."""

    base_urls: dict[str, str]
    chains: dict[str, list[str]] = {k: list(v) for k, v in DEFAULT_CHAINS.items()}
    youtube_chains: dict[str, list[str]] = {k: list(v) for k, v in YOUTUBE_CHAINS.items()}
    shopify_chains: dict[str, list[str]] = {k: list(v) for k, v in SHOPIFY_CHAINS.items()}
    timeout_seconds: float = 10.0
    concurrency: int = 64
    #: The Graph API version business_discovery is called on ("v24.0"); Meta retires each
    #: version about two years after release, so it is configuration, not code.
    graph_api_version: str = GRAPH_VERSION

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
            providers={**PROVIDERS, "graphapi": GraphApi(version=self.graph_api_version)},
            before_request=before_request,
        )

    def youtube(
        self,
        session: aiohttp.ClientSession,
        credentials: CredentialSource,
        before_request: BeforeRequest | None = None,
    ) -> YouTubeCrawler:
        return YouTubeCrawler(
            session,
            credentials,
            base_urls=self.base_urls,
            chains=self.youtube_chains,
            timeout_seconds=self.timeout_seconds,
            before_request=before_request,
        )

    def shopify(
        self,
        session: aiohttp.ClientSession,
        credentials: CredentialSource,
        before_request: BeforeRequest | None = None,
    ) -> ShopifyCrawler:
        return ShopifyCrawler(
            session,
            credentials,
            base_urls=self.base_urls,
            chains=self.shopify_chains,
            timeout_seconds=self.timeout_seconds,
            before_request=before_request,
        )
