"""Jobs people launch by hand from the Dagster UI."""
