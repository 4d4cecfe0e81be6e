"""warehouse-elt command line and warehouse lifecycle (embedded PostgreSQL, URL resolution, roles)."""
