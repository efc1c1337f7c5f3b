"""Analytics partitions as Parquet in the object store, loaded back as pandas DataFrames.

The same `analytics/<asset>/dt=YYYY-MM-DD/part-0.parquet` files that DuckDB, Spark and
notebooks read directly (`beat.analytics.storage`); downstream assets get the DataFrame of
the partition they run for, or the concatenation when they map to several days.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from beat.analytics.builders import conform
from beat.analytics.storage import partition_key, read_partition_table, write_partition
from beat.analytics.tables import SCHEMAS
from beat_dagster.resources.objects import ObjectStoreResource


class ParquetPartitionIOManager(dg.ConfigurableIOManager):
    """Writes an asset's daily partition as one Parquet file; loads it as a DataFrame."""

    objects: ObjectStoreResource

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | pd.DataFrame) -> None:
        table_name = context.asset_key.path[-1]
        if isinstance(obj, pd.DataFrame):
            schema = SCHEMAS.get(table_name)
            obj = conform(obj, schema) if schema is not None else pa.Table.from_pandas(obj)
        key = write_partition(self.objects.store(), table_name, context.asset_partition_key, obj)
        context.add_output_metadata({"object_key": key, "object_store": self._where()})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        table_name = context.asset_key.path[-1]
        store = self.objects.store()
        days = context.asset_partition_keys if context.has_asset_partitions else []
        if not days:
            raise dg.Failure(f"{table_name} is daily-partitioned: load one of its partitions")
        tables = [read_partition_table(store, table_name, day) for day in sorted(days)]
        return pa.concat_tables(tables).to_pandas() if len(tables) > 1 else tables[0].to_pandas()

    def _where(self) -> str:
        # Only the store's location, never credentials (the URL carries none: keys are env).
        return self.objects.url


def object_uri(objects: ObjectStoreResource, table: str, day: Any) -> str:
    """Where a partition lives, as a reader would name it (`s3://...` or a file path)."""
    return f"{objects.url.rstrip('/')}/{partition_key(table, day)}"
