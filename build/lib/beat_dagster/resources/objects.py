import dagster as dg
from dagster_aws.s3 import S3Resource

from beat.objects import ObjectStore, open_object_store


class ObjectStoreResource(dg.ConfigurableResource):
    """Raw provider responses and media: a local folder by default, S3 for `s3://bucket/prefix`."""

    url: str
    s3_endpoint_url: str | None = None
    s3_region_name: str | None = None

    def store(self) -> ObjectStore:
        client = None
        if self.url.startswith("s3://"):
            s3 = S3Resource(endpoint_url=self.s3_endpoint_url, region_name=self.s3_region_name)
            client = s3.get_client()
        return open_object_store(self.url, s3_client=client)
