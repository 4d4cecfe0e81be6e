"""One warehouse URL, parsed once, rendered for every consumer (psycopg, dlt, dbt's profiles.yml).

``WAREHOUSE_URL`` is a libpq URL: ``postgresql://user:pass@host:port/db?sslmode=...``; a unix-socket
directory is given as ``postgresql://user@/db?host=/socket/dir&port=5432``. SQLAlchemy-style driver
suffixes (``postgresql+psycopg2://``) are accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from elt.errors import EltError

RoleKind = Literal["loader", "transformer", "reporter"]
ROLE_KINDS: tuple[RoleKind, ...] = ("loader", "transformer", "reporter")
DEFAULT_PORT = 5432
_SCHEME = re.compile(r"^(postgres|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)
_KEYS = {"host", "port", "user", "password", "dbname"}


@dataclass(frozen=True)
class WarehouseTarget:
    """Connection parameters of the warehouse, independent of which tool will use them."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str) -> WarehouseTarget:
        """Parse a ``postgresql://`` URL; raise EltError naming what is wrong with it."""
        url = url.strip()
        if not _SCHEME.match(url):
            raise EltError(
                f"WAREHOUSE_URL must start with postgresql:// (got {redact(url)!r}); "
                "example: postgresql://user:password@127.0.0.1:5432/warehouse"
            )
        url = _SCHEME.sub("postgresql://", url, count=1)
        try:
            params = conninfo_to_dict(url)
        except Exception as exc:
            raise EltError(f"WAREHOUSE_URL {redact(url)!r} cannot be parsed: {exc}".strip()) from None
        dbname = str(params.get("dbname") or "")
        if not dbname:
            raise EltError(f"WAREHOUSE_URL {redact(url)!r} names no database: add /<database> after the host")
        host = str(params.get("host") or "localhost")
        if "," in host:
            raise EltError("WAREHOUSE_URL lists several hosts; give exactly one")
        try:
            port = int(params.get("port") or DEFAULT_PORT)
        except ValueError:
            raise EltError(f"WAREHOUSE_URL has a non-numeric port {params.get('port')!r}") from None
        return cls(
            host=host,
            port=port,
            user=str(params.get("user") or "postgres"),
            password=str(params.get("password") or ""),
            dbname=dbname,
            extra={k: str(v) for k, v in params.items() if k not in _KEYS},
        )

    @property
    def is_unix_socket(self) -> bool:
        """True when ``host`` is a socket directory rather than a network host."""
        return self.host.startswith("/")

    def with_database(self, dbname: str) -> WarehouseTarget:
        """The same server and user, another database."""
        return replace(self, dbname=dbname)

    def role(self, kind: RoleKind) -> str:
        """Name of one of the three warehouse roles; prefixed with the database since roles are server-wide."""
        return f"{self.dbname}_{kind}"

    def url(self) -> str:
        """Canonical libpq URL (socket directories go in the query string)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        query = dict(self.extra)
        if self.is_unix_socket:
            query = {"host": self.host, "port": str(self.port), **query}
            netloc = f"{auth}@"
        else:
            netloc = f"{auth}@{_bracket_ipv6(self.host)}:{self.port}"
        suffix = f"?{urlencode(query, safe='/', quote_via=quote)}" if query else ""
        return f"postgresql://{netloc}/{quote(self.dbname, safe='')}{suffix}"

    def redacted_url(self) -> str:
        """The URL with any password replaced by ``***`` (safe to print and log)."""
        return redact(self.url())

    def describe(self) -> str:
        """Short human description: ``db on host:port`` or ``db on unix socket <dir>``."""
        where = f"unix socket {self.host} (port {self.port})" if self.is_unix_socket else f"{self.host}:{self.port}"
        return f"database {self.dbname!r} on {where} as user {self.user!r}"

    def conninfo(self, *, role: RoleKind | None = None, connect_timeout: int = 5) -> str:
        """A psycopg connection string; with ``role`` the session runs ``SET ROLE`` to it at startup."""
        options = {"connect_timeout": str(connect_timeout), **self.extra}
        if role is not None:
            options["options"] = f"-c role={self.role(role)}"
        return make_conninfo(
            "",
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.dbname,
            **options,
        )

    def dlt_credentials(self, role: RoleKind = "loader") -> str:
        """Connection string for dlt's postgres destination, connecting as ``role``.

        dlt needs a non-empty host and password even on trust auth, so a socket directory goes in the
        query string behind a ``localhost`` placeholder and an empty password becomes a placeholder.
        """
        password = quote(self.password or "x", safe="")
        query = dict(self.extra)
        host = _bracket_ipv6(self.host)
        if self.is_unix_socket:
            query["host"] = self.host
            host = "localhost"
        query["options"] = f"-c role={self.role(role)}"
        return (
            f"postgresql://{quote(self.user, safe='')}:{password}@{host}:{self.port}/"
            f"{quote(self.dbname, safe='')}?{urlencode(query, safe='/', quote_via=quote)}"
        )

    def environment(self) -> dict[str, str]:
        """Variables that profiles.yml, dlt and the project's Python code read."""
        return {
            "WAREHOUSE_URL": self.url(),
            "WAREHOUSE_HOST": self.host,
            "WAREHOUSE_PORT": str(self.port),
            "WAREHOUSE_USER": self.user,
            # dbt scrubs the values of DBT_ENV_SECRET_* variables from its logs and artifacts
            "DBT_ENV_SECRET_WAREHOUSE_PASSWORD": self.password,
            "WAREHOUSE_DB": self.dbname,
            "WAREHOUSE_SSLMODE": self.extra.get("sslmode", "prefer"),
            "DESTINATION__POSTGRES__CREDENTIALS": self.dlt_credentials("loader"),
        }


def redact(url: str) -> str:
    """Hide the password of a URL (``user:secret@`` becomes ``user:***@``)."""
    url = re.sub(r"(://[^:/@?]*:)[^@/?]*@", r"\1***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def _bracket_ipv6(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
