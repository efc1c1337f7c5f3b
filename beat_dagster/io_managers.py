"""Analytics partitions as Parquet in the object store, loaded back as pandas DataFrames.

The same `analytics/<asset>/dt=YYYY-MM-DD/part-0.parquet` files that DuckDB, Spark and
notebooks read directly (`beat.analytics.storage`); downstream assets get the DataFrame of
the partition they run for, or the concatenation when they map to several days.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
from botocore.exceptions import ClientError

from beat.analytics.builders import conform
from beat.analytics.storage import read_partition_table, write_partition
from beat.analytics.tables import SCHEMAS
from beat.objects import ObjectStore
from beat_dagster.resources.objects import ObjectStoreResource


class ParquetPartitionIOManager(dg.ConfigurableIOManager):
    """Writes an asset's daily partition as one Parquet file; loads it as a DataFrame.

    It names the store the way `ObjectStoreResource` does (plain fields, not a nested
    resource: a nested one makes Dagster treat every resource as a generator, which sensor
    contexts built outside a `with` refuse).
    """

    url: str
    s3_endpoint_url: str | None = None
    s3_region_name: str | None = None

    @classmethod
    def on(cls, objects: ObjectStoreResource) -> ParquetPartitionIOManager:
        return cls(
            url=objects.url,
            s3_endpoint_url=objects.s3_endpoint_url,
            s3_region_name=objects.s3_region_name,
        )

    def store(self) -> ObjectStore:
        return ObjectStoreResource(
            url=self.url, s3_endpoint_url=self.s3_endpoint_url, s3_region_name=self.s3_region_name
        ).store()

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | pd.DataFrame) -> None:
        table_name = context.asset_key.path[-1]
        if isinstance(obj, pd.DataFrame):
            schema = SCHEMAS.get(table_name)
            obj = conform(obj, schema) if schema is not None else pa.Table.from_pandas(obj)
        key = write_partition(self.store(), table_name, context.asset_partition_key, obj)
        # The store's location only: S3 credentials come from the environment, never the URL.
        context.add_output_metadata({"object_key": key, "object_store": self.url})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        table_name = context.asset_key.path[-1]
        store = self.store()
        days = context.asset_partition_keys if context.has_asset_partitions else []
        if not days:
            raise dg.Failure(f"{table_name} is daily-partitioned: load one of its partitions")
        tables = [self._read(store, table_name, day) for day in sorted(days)]
        return pa.concat_tables(tables).to_pandas() if len(tables) > 1 else tables[0].to_pandas()

    @staticmethod
    def _read(store: ObjectStore, table_name: str, day: str) -> pa.Table:
        try:
            return read_partition_table(store, table_name, day)
        except (FileNotFoundError, ClientError) as exc:
            raise dg.Failure(
                f"{table_name} has no partition {day} in the object store yet: "
                f"materialize {table_name} for {day} first ({exc})"
            ) from exc
