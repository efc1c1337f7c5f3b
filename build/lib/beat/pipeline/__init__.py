"""Batch processing: claimed requests in, provider calls on asyncio, rows and statuses out.

Nothing here imports Dagster; the Dagster assets call `run_batch` and report its result.
"""
