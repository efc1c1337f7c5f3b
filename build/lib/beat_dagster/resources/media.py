import dagster as dg

from beat.media import FetchPolicy


class MediaResource(dg.ConfigurableResource):
    """How media is fetched: the SSRF policy (strict unless endpoints are allowed) and
    whether batch runs queue the media of what they stored."""

    from_batches: bool = True
    allow_endpoints: list[str] = []
    concurrency: int = 32

    def policy(self) -> FetchPolicy:
        return FetchPolicy.allowing(*self.allow_endpoints)
