"""Stand-in for dbt's ``exceptions`` context member, for sqlfluff's jinja templater (pre-commit only)."""


def raise_compiler_error(message: str) -> str:
    """Render nothing: the real macro stops compilation, which linting need not reproduce."""
    return ""
