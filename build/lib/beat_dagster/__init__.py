"""beat on Dagster: the request queue's batches become runs of daily-partitioned assets."""
