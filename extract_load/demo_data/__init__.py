"""Deterministic demo data: an application database and transaction file drops (``elt demo-data``)."""
