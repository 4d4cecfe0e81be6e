"""Stand-ins for the dbt macros the models call, for sqlfluff's fast jinja templater (pre-commit only).

CI lints with the dbt templater, which runs the real macros; these only need to render plausible SQL.
"""


def string_literal(value: object) -> str:
    """Quote a value as a SQL string literal, like ``dbt.string_literal``."""
    return "'" + str(value).replace("'", "''") + "'"


def get_where_subquery(relation: object) -> str:
    """The relation itself, like ``dbt.get_where_subquery`` without a ``where`` config."""
    return str(relation)


class QueryResult:
    """What ``run_query`` returns (an agate table), reduced to the one row the models read: a number, a text."""

    rows = ((0, "{}"),)


def run_query(sql: object) -> QueryResult:
    """A query result without a database, like ``dbt.run_query``."""
    return QueryResult()
