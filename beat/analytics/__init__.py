"""Analytics over the observation history: pure pandas/pyarrow builders, no Dagster import.

`history` reads profile_log/post_log for a span of days, `engagement` holds the original's
formulas, `builders` turns observations into the four daily tables, `tables` declares their
schemas and `storage` writes and reads them as Hive-style Parquet in the object store.
"""
