"""Analytics over the observation history: pure pandas/pyarrow builders, no Dagster import.

`history` reads profile_log/post_log for a span of days; `engagement` holds the original's
formulas; `snapshot` (integer keys, numpy) and `builders` turn observations into the four
daily tables; `tables` declares their schemas; `storage` writes and reads them as
Hive-style Parquet in the object store; `report` renders them as markdown for the UI.
"""
