"""Names of the custom resource metrics (``dlt.current.resource_metrics()``) the pipelines report."""

# ``{table: rows}`` a resource wrote to the warehouse itself rather than through dlt's load package; run
# summaries add them to dlt's own counts
DIRECT_ROWS_METRIC = "rows_written_directly"
