"""Run tags that link a Dagster run to the scrape requests it processed."""

BATCH_ID_TAG = "beat/batch_id"
FAMILY_TAG = "beat/family"
FLOWS_TAG = "beat/flows"
BATCH_SIZE_TAG = "beat/batch_size"
PLATFORM_TAG = "beat/platform"
