"""Names of the custom resource metrics (``dlt.current.resource_metrics()``) the pipelines report."""

# ``{table: rows}`` a resource wrote to the warehouse itself rather than through dlt's load package; run
# summaries add them to dlt's own counts
DIRECT_ROWS_METRIC = "rows_written_directly"

# ``{table: rows}`` a resource dropped as duplicates of another row of the same response (kept by a
# documented rule); run summaries and ``raw_ops.pipeline_runs.rows_collapsed`` report them
COLLAPSED_ROWS_METRIC = "rows_collapsed"
