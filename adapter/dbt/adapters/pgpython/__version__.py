"""Version of the pgpython adapter plugin (dbt reads ``version`` from here)."""

version = "1.11.0"
