"""Intake: how scrape requests enter the queue (HTTP API and CLI share one validator)."""
