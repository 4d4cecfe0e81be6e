"""dlt sources (one folder per source) and their thin ``<source>_pipeline.py`` entry scripts."""
