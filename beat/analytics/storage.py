"""Analytics tables as Hive-style Parquet in the object store (S3 or the local folder).

One file per daily partition, `analytics/<table>/dt=YYYY-MM-DD/part-0.parquet`: DuckDB
(`read_parquet(..., hive_partitioning=true)`), pandas/pyarrow (`pd.read_parquet(folder)`)
and Spark read the folder as one table with a `dt` column. Each file also carries its own
`date` column, so a single file read on its own still says which day it describes.
"""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beat.objects import ObjectStore, open_object_store

PREFIX = "analytics"


def partition_key(table: str, day: date | str) -> str:
    return f"{PREFIX}/{table}/dt={day}/part-0.parquet"


def write_partition(store: ObjectStore, table: str, day: date | str, data: pa.Table) -> str:
    buffer = io.BytesIO()
    pq.write_table(data, buffer)  # snappy: what every reader (DuckDB, Spark, pandas) takes
    key = partition_key(table, day)
    store.put(key, buffer.getvalue(), content_type="application/vnd.apache.parquet")
    return key


def read_partition_table(store: ObjectStore, table: str, day: date | str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.get(partition_key(table, day))))


def read_partition(store: ObjectStore, table: str, day: date | str) -> pd.DataFrame:
    return read_partition_table(store, table, day).to_pandas()


def load(table: str, day: date | str) -> pd.DataFrame:
    """One partition as a DataFrame, from the object store the settings name (for notebooks)."""
    from beat.config import load_settings

    settings = load_settings()
    store = open_object_store(settings.object_store_url, endpoint_url=settings.s3_endpoint_url)
    return read_partition(store, table, day)
