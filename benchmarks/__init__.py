"""Load benchmarks of the warehouse, measured against the raw-``COPY`` physical limit (run: ``benchmarks/run.py``)."""
