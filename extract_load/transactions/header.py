"""A transaction file's column names as warehouse identifiers, checked before any of its rows is read.

Names are normalized with dlt's snake_case naming convention (the one the other sources' columns get):
``User ID`` becomes ``user_id``. A header the warehouse cannot take rejects the file as a whole, with the
reason, and the run goes on with the other files: a name that is empty, longer than PostgreSQL's 63-byte
identifiers, named like the loader's lineage and bookkeeping columns (``_source_*``, ``_dlt_*``, which the
loader writes itself), or two names that become the same identifier.
"""

from __future__ import annotations

from collections.abc import Iterable

from dlt.common.normalizers.naming.snake_case import NamingConvention

from extract_load.transactions.contract import REQUIRED_COLUMNS
from extract_load.transactions.errors import FileRejectedError

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), so two long names could silently merge."""

RESERVED_PREFIXES = ("_source_", "_dlt_")

_NAMING = NamingConvention()


def column_identifier(name: str, position: int) -> str:
    """The warehouse identifier of the file's column ``name`` (1-based ``position``), or FileRejectedError."""
    stripped = name.strip()
    if not stripped:
        raise FileRejectedError(f"column {position} of the header has an empty name")
    identifier = _NAMING.normalize_identifier(stripped)
    if len(identifier.encode()) > MAX_IDENTIFIER_BYTES:
        raise FileRejectedError(
            f"column {position} name {_shorten(stripped)!r} is {len(identifier.encode())} bytes as an identifier;"
            f" PostgreSQL allows at most {MAX_IDENTIFIER_BYTES}",
            identifier[:MAX_IDENTIFIER_BYTES],
        )
    if identifier.startswith(RESERVED_PREFIXES):
        raise FileRejectedError(
            f"column {stripped!r} is named like the loader's lineage and bookkeeping columns"
            f" ({', '.join(prefix + '*' for prefix in RESERVED_PREFIXES)}), which it writes itself: rename it",
            identifier,
        )
    return identifier


def header_identifiers(names: list[str], hint: str = "") -> list[str]:
    """Identifiers of a whole header (CSV, Parquet); FileRejectedError for any problem with it."""
    identifiers = [column_identifier(name, position) for position, name in enumerate(names, start=1)]
    require_columns(identifiers, hint)
    reject_collisions(zip(names, identifiers, strict=True))
    return identifiers


def require_columns(identifiers: list[str], hint: str = "") -> None:
    """Raise FileRejectedError when a contract column is missing from the file's header or schema."""
    missing = [name for name in REQUIRED_COLUMNS if name not in identifiers]
    if missing:
        found = ", ".join(identifiers) if identifiers else "none"
        raise FileRejectedError(f"missing required column(s) {', '.join(missing)}; found: {found}{hint}", missing[0])


def reject_collisions(names_and_identifiers: Iterable[tuple[str, str]]) -> None:
    """Raise FileRejectedError when two column names are the same, or become the same identifier."""
    originals: dict[str, list[str]] = {}
    for name, identifier in names_and_identifiers:
        originals.setdefault(identifier, []).append(name.strip())
    for identifier, names in sorted(originals.items()):
        if len(names) < 2:
            continue
        if len(set(names)) == 1:
            raise FileRejectedError(f"duplicated column(s) {identifier} in the header", identifier)
        quoted = " and ".join(repr(name) for name in names)
        raise FileRejectedError(f"columns {quoted} both become the identifier {identifier}", identifier)


def _shorten(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."
