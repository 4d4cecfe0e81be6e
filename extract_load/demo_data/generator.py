"""Write the demo application database and transaction drops, deterministically (seed + fixed anchor date).

``generate_base`` creates the application tables with users and orders and writes one transaction file per
day for ``days`` days ending on the anchor date (mostly CSV, some gzip, JSONL and Parquet). Each
``next_day`` call then adds the following day: new users, a few updated, soft-deleted and hard-deleted ones,
that day's orders, and a new file holding that day's purchases plus a few bad rows to quarantine. Progress
is kept in a small JSON state file, so the steps are idempotent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from extract_load.demo_data.app_schema import metadata, orders, users
from extract_load.demo_data.purchases import Purchase, simulate_purchases

COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "PL", "SE", "US", "GB", "BR")
COUNTRY_WEIGHTS = (0.22, 0.14, 0.08, 0.1, 0.1, 0.06, 0.05, 0.12, 0.09, 0.04)
ORPHAN_USER_BASE = 900_000
BAD_ROWS = (
    ("bad-negative-{day}", "1", "-12.00", "{day}"),
    ("bad-date-{day}", "1", "9.99", "{day}T25:00"),
    ("bad-user-{day}", "", "5.00", "{day}"),
)


@dataclass(frozen=True)
class DemoConfig:
    """Size and shape of the demo data set."""

    seed: int = 20240630
    anchor_date: date = date(2024, 6, 30)
    days: int = 120
    users: int = 2_000
    orphan_share: float = 0.01
    new_users_per_day: int = 12


@dataclass
class DemoState:
    """What has been generated so far (persisted as JSON next to the landing area)."""

    base_generated: bool = False
    days_added: int = 0
    next_user_id: int = 1
    next_order_id: int = 1
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepSummary:
    """What one generation step wrote."""

    day: date
    users_added: int
    users_updated: int
    users_soft_deleted: int
    users_hard_deleted: int
    orders_added: int
    transactions: int
    bad_rows: int
    files: tuple[str, ...]


class DemoData:
    """Generator bound to an application database URL, a landing folder and a state file."""

    def __init__(self, app_url: str, landing: Path, state_file: Path, config: DemoConfig = DemoConfig()) -> None:
        self.app_url = app_url
        self.landing = landing
        self.state_file = state_file
        self.config = config

    @property
    def first_day(self) -> date:
        """First day with a transaction file."""
        return self.config.anchor_date - timedelta(days=self.config.days - 1)

    def state(self) -> DemoState:
        """The persisted progress (empty when nothing was generated)."""
        if not self.state_file.exists():
            return DemoState()
        return DemoState(**json.loads(self.state_file.read_text()))

    def generate_base(self) -> StepSummary | None:
        """Create the application tables and write the base period; None when it already exists."""
        state = self.state()
        if state.base_generated:
            return None
        rng = np.random.default_rng(self.config.seed)
        signups = self._signups(rng, state, self.config.users, self.first_day - timedelta(days=365))
        purchases = simulate_purchases(self.config.seed, signups, self.first_day, self.config.anchor_date)
        engine = sa.create_engine(self.app_url)
        try:
            metadata.drop_all(engine)
            metadata.create_all(engine)
            with engine.begin() as conn:
                conn.execute(users.insert(), [_user_row(rng, uid, day) for uid, day in signups.items()])
                order_rows = self._order_rows(rng, state, purchases, self.config.anchor_date)
                _insert_chunked(conn, orders, order_rows)
        finally:
            engine.dispose()
        by_day = _group_by_day(purchases)
        files = []
        for offset in range(self.config.days):
            day = self.first_day + timedelta(days=offset)
            files.append(self._write_drop(rng, day, offset, by_day.get(day, []), bad_rows=False))
        state.base_generated = True
        state.files += files
        self._save(state)
        return StepSummary(
            self.config.anchor_date, len(signups), 0, 0, 0, len(order_rows), len(purchases), 0, tuple(files)
        )

    def next_day(self) -> StepSummary:
        """Add the day after the last generated one: user changes, orders and a new drop with bad rows."""
        state = self.state()
        if not state.base_generated:
            raise RuntimeError("generate the base period first (elt demo-data)")
        index = state.days_added + 1
        day = self.config.anchor_date + timedelta(days=index)
        rng = np.random.default_rng([self.config.seed, index])
        moment = datetime.combine(day, time(8, 0), tzinfo=UTC)
        engine = sa.create_engine(self.app_url)
        try:
            with engine.begin() as conn:
                live = [row.id for row in conn.execute(sa.select(users.c.id).where(users.c.deleted_at.is_(None)))]
                chosen = rng.choice(live, size=min(len(live), 12), replace=False).tolist()
                updated, soft_deleted, hard_deleted = chosen[:8], chosen[8:11], chosen[11:]
                for uid in updated:
                    conn.execute(
                        users.update()
                        .where(users.c.id == uid)
                        .values(email=f"user{uid}.{index}@example.org", updated_at=moment)
                    )
                if soft_deleted:
                    conn.execute(
                        users.update().where(users.c.id.in_(soft_deleted)).values(deleted_at=moment, updated_at=moment)
                    )
                if hard_deleted:
                    conn.execute(users.delete().where(users.c.id.in_(hard_deleted)))
                signups = self._signups(rng, state, self.config.new_users_per_day, day, last=day)
                conn.execute(users.insert(), [_user_row(rng, uid, signed) for uid, signed in signups.items()])
                live_rows = sa.select(users.c.id, users.c.created_at).where(users.c.deleted_at.is_(None))
                customers = {row.id: _as_date(row.created_at) for row in conn.execute(live_rows)}
                purchases = simulate_purchases(self.config.seed, customers, day, day)
                order_rows = self._order_rows(rng, state, purchases, day)
                _insert_chunked(conn, orders, order_rows)
                # orders placed two days ago that are refunded today
                refund_day = day - timedelta(days=2)
                placed_then = sa.select(orders.c.id).where(
                    orders.c.status == "paid",
                    orders.c.created_at >= datetime.combine(refund_day, time(0), tzinfo=UTC),
                    orders.c.created_at < datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC),
                )
                candidates = sorted(row.id for row in conn.execute(placed_then))
                refunds = [oid for oid in candidates if rng.random() < 0.03]
                if refunds:
                    conn.execute(
                        orders.update().where(orders.c.id.in_(refunds)).values(status="refunded", updated_at=moment)
                    )
        finally:
            engine.dispose()
        drop = self._write_drop(rng, day, self.config.days + index - 1, purchases, bad_rows=True)
        state.days_added = index
        state.files.append(drop)
        self._save(state)
        return StepSummary(
            day,
            len(signups),
            len(updated),
            len(soft_deleted),
            len(hard_deleted),
            len(order_rows),
            len(purchases),
            len(BAD_ROWS),
            (drop,),
        )

    def _signups(
        self, rng: np.random.Generator, state: DemoState, count: int, first: date, last: date | None = None
    ) -> dict[int, date]:
        last = last or self.config.anchor_date
        span = (last - first).days
        offsets = np.sort(rng.integers(0, span + 1, size=count))
        signups = {state.next_user_id + i: first + timedelta(days=int(o)) for i, o in enumerate(offsets)}
        state.next_user_id += count
        return signups

    def _order_rows(
        self, rng: np.random.Generator, state: DemoState, purchases: list[Purchase], refunds_until: date
    ) -> list[dict]:
        """Orders of the purchases; ~3 % are refunded two days later when that is still before ``refunds_until``."""
        rows = []
        for purchase in purchases:
            placed = datetime.combine(
                purchase.day, time(int(rng.integers(6, 23)), int(rng.integers(0, 60))), tzinfo=UTC
            )
            refunded = rng.random() < 0.03 and (placed + timedelta(days=2)).date() <= refunds_until
            rows.append(
                {
                    "id": state.next_order_id,
                    "user_id": purchase.user_id,
                    "status": "refunded" if refunded else "paid",
                    "amount": Decimal(f"{purchase.total_cost:.2f}"),
                    "created_at": placed,
                    "updated_at": placed + (timedelta(days=2) if refunded else timedelta()),
                }
            )
            state.next_order_id += 1
        return rows

    def _write_drop(
        self, rng: np.random.Generator, day: date, index: int, purchases: list[Purchase], *, bad_rows: bool
    ) -> str:
        records = []
        for seq, purchase in enumerate(purchases, start=1):
            user_id = purchase.user_id
            if rng.random() < self.config.orphan_share:
                user_id = ORPHAN_USER_BASE + int(rng.integers(0, 1000))
            records.append((f"tx-{day:%Y%m%d}-{seq:05d}", str(user_id), f"{purchase.total_cost:.2f}", day.isoformat()))
        if bad_rows:
            records += [tuple(value.format(day=day.isoformat()) for value in row) for row in BAD_ROWS]
        suffix = (
            ".parquet"
            if index % 30 == 20
            else ".jsonl"
            if index % 15 == 7
            else ".csv.gz"
            if index % 10 == 9
            else ".csv"
        )
        if suffix == ".parquet" and bad_rows:
            suffix = ".csv"
        name = f"{day:%Y/%m}/transactions_{day:%Y-%m-%d}{suffix}"
        path = self.landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _WRITERS[suffix](path, records)
        stamp = datetime.combine(day, time(23, 59), tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
        return name

    def _save(self, state: DemoState) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(state), indent=2))


HEADER = ("transaction_id", "user_id", "total_cost", "dt")


def _write_csv(path: Path, records: list[tuple[str, ...]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(records)


def _write_csv_gz(path: Path, records: list[tuple[str, ...]]) -> None:
    # no name or time in the gzip header, so the same records always give the same bytes
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        io.TextIOWrapper(zipped, newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(records)


def _write_jsonl(path: Path, records: list[tuple[str, ...]]) -> None:
    with path.open("wb") as handle:
        for record in records:
            row = dict(zip(HEADER, record, strict=True))
            row["user_id"] = int(row["user_id"]) if row["user_id"] else None
            row["total_cost"] = float(row["total_cost"])
            handle.write(orjson.dumps(row) + b"\n")


def _write_parquet(path: Path, records: list[tuple[str, ...]]) -> None:
    columns = list(zip(*records, strict=True)) if records else [[], [], [], []]
    table = pa.table(
        {
            "transaction_id": pa.array(columns[0], pa.string()),
            "user_id": pa.array([int(v) for v in columns[1]], pa.int64()),
            "total_cost": pa.array([Decimal(v) for v in columns[2]], pa.decimal128(12, 2)),
            "dt": pa.array([date.fromisoformat(v) for v in columns[3]], pa.date32()),
        }
    )
    pq.write_table(table, path)


_WRITERS = {".csv": _write_csv, ".csv.gz": _write_csv_gz, ".jsonl": _write_jsonl, ".parquet": _write_parquet}


def _user_row(rng: np.random.Generator, uid: int, signup: date) -> dict:
    joined = datetime.combine(signup, time(int(rng.integers(0, 24)), int(rng.integers(0, 60))), tzinfo=UTC)
    return {
        "id": uid,
        "username": f"user{uid}",
        "email": f"user{uid}@example.com",
        "country_code": str(rng.choice(COUNTRIES, p=COUNTRY_WEIGHTS)),
        "created_at": joined,
        "updated_at": joined,
        "deleted_at": None,
    }


def _as_date(value: datetime | str) -> date:
    """A timestamp read back from any dialect (SQLite returns naive datetimes or text)."""
    return value.date() if isinstance(value, datetime) else datetime.fromisoformat(str(value)).date()


def _group_by_day(purchases: list[Purchase]) -> dict[date, list[Purchase]]:
    grouped: dict[date, list[Purchase]] = {}
    for purchase in purchases:
        grouped.setdefault(purchase.day, []).append(purchase)
    return grouped


def _insert_chunked(conn: sa.Connection, table: sa.Table, rows: list[dict], chunk: int = 5_000) -> None:
    for start in range(0, len(rows), chunk):
        conn.execute(table.insert(), rows[start : start + chunk])
