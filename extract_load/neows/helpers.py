"""Pure helpers of the NeoWs source: feed window planning, coverage state, and response-to-row mapping.

Nothing here does I/O, so the planning rules are unit-tested on their own.

**Feed windows** are laid on a fixed grid anchored at the configured ``start_date``: window ``k`` is
``[start + k * (window_days + 1), start + k * (window_days + 1) + window_days]``, clipped to ``end_date``.
A run fetches every grid window that contains a date still to fetch: dates of ``[start_date, end_date]``
not covered yet, plus the last ``lookback_days`` covered dates (re-read to pick up revisions). Because
the grid is fixed, a re-read asks for exactly the window it asked for before.

**Coverage** (the resource state) is a list of disjoint, sorted ``[first, last]`` ISO date pairs: what
has been loaded, so backfilling an earlier ``start_date`` fetches only the gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from dlt.common.schema.typing import TColumnSchema

from extract_load.neows.settings import (
    ASTEROID_COLUMNS,
    BROWSE_ASTEROID_COLUMNS,
    CLOSE_APPROACH_COLUMNS,
    LOOKUP_NOT_FOUND,
    MAX_WINDOW_DAYS,
    ORBITAL_ELEMENTS,
)

Interval = tuple[date, date]


class FeedResponseError(ValueError):
    """A feed or browse document that does not have the shape the API promises."""


def parse_day(value: str | date, *, today: date | None = None) -> date:
    """A ``date`` from ISO ``YYYY-MM-DD``, a ``date``, or ``"today"`` (UTC)."""
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if text.lower() == "today":
        return today or datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date: {value!r} (expected YYYY-MM-DD or 'today')") from None


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same dates (adjacent ones are joined)."""
    merged: list[Interval] = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def coverage_from_state(raw: Iterable[Iterable[str]] | None) -> list[Interval]:
    """Coverage read back from the resource state (ISO strings)."""
    return merge_intervals((date.fromisoformat(first), date.fromisoformat(last)) for first, last in raw or [])


def coverage_to_state(coverage: Iterable[Interval]) -> list[list[str]]:
    """Coverage in the form the resource state stores (ISO strings)."""
    return [[first.isoformat(), last.isoformat()] for first, last in merge_intervals(coverage)]


def plan_windows(
    start: date,
    end: date,
    window_days: int,
    lookback_days: int,
    covered: Iterable[Interval] = (),
    *,
    refetch: bool = False,
) -> list[Interval]:
    """The feed windows to fetch this run (see the module docstring for the rules).

    Args:
        start: first date wanted; anchors the window grid.
        end: last date wanted (inclusive).
        window_days: ``end_date - start_date`` of a full window, 0 to 7.
        lookback_days: how many of the most recent covered dates to fetch again.
        covered: dates already loaded.
        refetch: fetch every window of ``[start, end]``, loaded or not (a backfill).

    Returns:
        ``(start_date, end_date)`` pairs in date order.
    """
    if not 0 <= window_days <= MAX_WINDOW_DAYS:
        raise ValueError(f"window_days must be between 0 and {MAX_WINDOW_DAYS}, got {window_days}")
    if lookback_days < 0:
        raise ValueError(f"lookback_days must not be negative, got {lookback_days}")
    if end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")
    covered = merge_intervals(covered)
    covered_days = {day for first, last in covered for day in _days(max(first, start), min(last, end))}
    wanted = set(_days(start, end)) - (set() if refetch else covered_days)
    if covered and lookback_days:
        latest = max(last for _, last in covered)
        wanted |= covered_days & set(_days(latest - timedelta(days=lookback_days - 1), latest))
    windows = []
    window_start = start
    while window_start <= end:
        window_end = min(window_start + timedelta(days=window_days), end)
        if any(day in wanted for day in _days(window_start, window_end)):
            windows.append((window_start, window_end))
        window_start = window_end + timedelta(days=1)
    return windows


def flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become ``parent__child`` columns (dlt's naming); lists stay values (JSON columns)."""
    row: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            row.update(flatten(value, f"{prefix}{key}__"))
        else:
            row[f"{prefix}{key}"] = value
    return row


_ACCEPTED_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str, int, float),
    "double": (int, float),
    "bigint": (int,),
    "bool": (bool,),
}


def type_violation(row: dict[str, Any], columns: dict[str, TColumnSchema]) -> str | None:
    """Why ``row`` does not fit the declared column types (None if it does; undeclared columns pass).

    Checked before dlt sees the row, so a bad value is quarantined during extract instead of failing dlt's
    normalize step (the schema contract freezes data types) after the extract has been committed.
    """
    for name, value in row.items():
        declared = columns.get(name, {}).get("data_type")
        if value is None or declared not in _ACCEPTED_TYPES:
            continue
        bad_bool = isinstance(value, bool) and declared != "bool"
        if bad_bool or not isinstance(value, _ACCEPTED_TYPES[declared]):
            return f"{name}: expected {declared}, got {type(value).__name__} {value!r:.40}"
    return None


@dataclass
class Rows:
    """Rows mapped from one response: objects, their close approaches and quarantined records.

    ``collapsed`` counts approaches dropped as duplicates of another (see :func:`collapse_duplicate_approaches`).
    """

    objects: list[dict[str, Any]] = field(default_factory=list)
    approaches: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    collapsed: int = 0


def _approach_order(approach: dict[str, Any]) -> tuple[int, str]:
    epoch = approach.get("epoch_date_close_approach")
    return (epoch if isinstance(epoch, int) else -(1 << 62), str(approach.get("close_approach_date_full") or ""))


def collapse_duplicate_approaches(rows: Rows) -> Rows:
    """Keep one approach per key ``(neo_reference_id, close_approach_date, orbiting_body)`` of a response.

    NeoWs sometimes lists the same approach twice, minutes apart (two solutions of the same encounter). The
    rule: the latest time of the approach (``epoch_date_close_approach``) wins, then the latest
    ``close_approach_date_full``, then the one listed last. ``rows.collapsed`` counts the rows dropped.
    """
    kept: dict[tuple[str, str, str], dict[str, Any]] = {}
    for approach in rows.approaches:
        key = (approach["neo_reference_id"], approach["close_approach_date"], approach["orbiting_body"])
        if key not in kept or _approach_order(approach) >= _approach_order(kept[key]):
            kept[key] = approach
    rows.collapsed += len(rows.approaches) - len(kept)
    rows.approaches = list(kept.values())
    return rows


def object_rows(
    neo: Any, request: str, position: str, rows: Rows, columns: dict[str, TColumnSchema] = ASTEROID_COLUMNS
) -> None:
    """Append one NEO object (feed, browse or lookup shape) and its close approaches to ``rows``.

    An object without ``neo_reference_id`` (the one key every era has; ``id`` is missing in 2016), an
    approach without its date or orbiting body, or a value that does not fit its declared column type is
    quarantined with the reason instead. A quarantined object's approaches are quarantined with it (they
    would point at an asteroid that is not loaded); a good object's approaches are checked on their own.
    """
    if not isinstance(neo, dict) or not isinstance(neo.get("neo_reference_id"), str | int):
        rows.rejected.append(rejected_record(request, position, "object without neo_reference_id", neo))
        return
    neo = dict(neo)
    neo_id = str(neo["neo_reference_id"])
    approaches = neo.pop("close_approach_data", None) or []
    row = flatten({**neo, "neo_reference_id": neo_id})
    object_violation = type_violation(row, columns)
    if object_violation:
        rows.rejected.append(rejected_record(request, position, object_violation, neo))
    else:
        rows.objects.append(row)
    for index, approach in enumerate(approaches):
        where = f"{position}.close_approach_data[{index}]"
        if object_violation:
            reason = f"approach of quarantined object {neo_id} ({object_violation})"
            rows.rejected.append(rejected_record(request, where, reason, approach))
            continue
        if (
            not isinstance(approach, dict)
            or not approach.get("close_approach_date")
            or not approach.get("orbiting_body")
        ):
            rows.rejected.append(
                rejected_record(request, where, "close approach without date or orbiting_body", approach)
            )
            continue
        approach_row = {"neo_reference_id": neo_id, **flatten(approach)}
        if violation := type_violation(approach_row, CLOSE_APPROACH_COLUMNS):
            rows.rejected.append(rejected_record(request, where, violation, approach))
            continue
        rows.approaches.append(approach_row)


def _decoded_by(rows: Rows, decoding: str) -> Rows:
    for row in rows.objects:
        row["response_decoding"] = decoding
    return collapse_duplicate_approaches(rows)


def feed_rows(document: dict[str, Any], window: Interval, request: str, decoding: str = "utf-8") -> Rows:
    """Rows of one feed response, after checking it answers the window asked for.

    Objects keep the ``response_decoding`` of the body; duplicate approaches are collapsed.

    Raises:
        FeedResponseError: no ``near_earth_objects`` mapping, a date key outside the window, or an
            ``element_count`` that disagrees with the objects delivered.
    """
    by_date = document.get("near_earth_objects")
    if not isinstance(by_date, dict):
        raise FeedResponseError(f"{request}: no 'near_earth_objects' object in the response")
    rows = Rows()
    count = 0
    for day in sorted(by_date):
        try:
            inside = window[0] <= date.fromisoformat(day) <= window[1]
        except ValueError:
            inside = False
        if not inside:
            raise FeedResponseError(f"{request}: date key {day!r} is outside the requested window")
        objects = by_date[day] if isinstance(by_date[day], list) else [by_date[day]]
        for index, neo in enumerate(objects):
            count += 1
            object_rows(neo, request, f"near_earth_objects.{day}[{index}]", rows)
    expected = document.get("element_count")
    if isinstance(expected, int) and expected != count:
        raise FeedResponseError(f"{request}: element_count is {expected} but {count} objects were delivered")
    return _decoded_by(rows, decoding)


def browse_rows(document: dict[str, Any], request: str, decoding: str = "utf-8") -> tuple[Rows, dict[str, Any]]:
    """Rows of one browse page and its ``page`` object (``number``, ``size``, ``total_pages``...).

    Objects keep the ``response_decoding`` of the body; duplicate approaches are collapsed.

    Raises:
        FeedResponseError: no ``near_earth_objects`` list or no ``page`` object.
    """
    objects = document.get("near_earth_objects")
    page = document.get("page")
    if not isinstance(objects, list) or not isinstance(page, dict):
        raise FeedResponseError(f"{request}: a browse page needs a 'near_earth_objects' list and a 'page' object")
    rows = Rows()
    for index, neo in enumerate(objects):
        object_rows(neo, request, f"near_earth_objects[{index}]", rows, BROWSE_ASTEROID_COLUMNS)
    return _decoded_by(rows, decoding), page


def rejected_record(request: str, position: str, reason: str, payload: Any) -> dict[str, Any]:
    """A row of ``rejected_records``: the (key-free) request, the JSON position, why, and what was delivered."""
    return {"request": request, "position": position, "reason": reason, "payload": payload}


def _id_order(neo_id: str) -> tuple[int, str]:
    return (int(neo_id), neo_id) if neo_id.isdigit() else (1 << 62, neo_id)


def read_id_file(path: str | Path) -> list[str]:
    """The ids of a watch-list file: one per line, ``#`` starts a comment, blank lines are ignored.

    Raises:
        ValueError: the file cannot be read, or a line holds more than one word (names the file and line).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"lookup_ids_file {str(path)!r}: cannot be read: {exc}") from exc
    ids = []
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        if len(words) > 1:
            raise ValueError(f"lookup_ids_file {str(path)!r} line {number}: one id per line, got {line.strip()!r}")
        ids.extend(words)
    return ids


def has_orbital_elements(row: dict[str, Any]) -> bool:
    """True when a flattened browse, lookup or detailed feed row holds every element of an osculating orbit."""
    return all(str(row.get(name) or "").strip() for name in ORBITAL_ELEMENTS)


def plan_lookups(
    pending: Iterable[str],
    checked: dict[str, list[str]],
    now: datetime,
    max_age_days: float,
    not_found_retry_days: float,
    watch: Iterable[str] = (),
) -> list[str]:
    """The ids to look up, in order: never looked up (watch list first, then by id), then due again (oldest first).

    Args:
        pending: ids seen in the feed or browse (or on the watch list) and never looked up.
        checked: ``{id: [status, checked_at ISO]}``: ``found`` or ``not_found`` by an earlier lookup, or
            ``browse`` or ``feed`` when a browse or detailed feed object delivered the orbital elements at
            ``checked_at``.
        now: the current time (UTC).
        max_age_days: a found object, or one whose elements came from browse or the feed, is looked up once
            that is at least this old.
        not_found_retry_days: an id that answered 404 is asked again once that answer is this old.
        watch: the configured watch list; its new ids go before the other new ids.

    Returns:
        Every id due; the caller stops where its request budget ends, so the order is the priority.
    """
    watched = set(watch)
    fresh = sorted(
        {neo_id for neo_id in pending if neo_id not in checked},
        key=lambda neo_id: (neo_id not in watched, _id_order(neo_id)),
    )
    due: list[tuple[str, str]] = []
    for neo_id, (status, checked_at) in checked.items():
        age_days = (now - datetime.fromisoformat(checked_at)).total_seconds() / 86400
        if age_days >= (not_found_retry_days if status == LOOKUP_NOT_FOUND else max_age_days):
            due.append((checked_at, neo_id))
    return fresh + [neo_id for _, neo_id in sorted(due, key=lambda item: (item[0], _id_order(item[1])))]


def lookup_rows(
    document: dict[str, Any], neo_id: str, request: str, fetched_at: datetime, decoding: str = "utf-8"
) -> Rows:
    """Rows of one ``/neo/{id}`` response (the browse object shape), after checking it is the object asked for.

    The object row keeps ``fetched_at`` and the ``response_decoding`` of the body.

    Raises:
        FeedResponseError: the response is about another object.
    """
    answered = document.get("neo_reference_id")
    if answered is not None and str(answered) != neo_id:
        raise FeedResponseError(f"{request}: the API answered object {answered!r} for {neo_id!r}")
    rows = Rows()
    object_rows(document, request, "$", rows, BROWSE_ASTEROID_COLUMNS)
    for row in rows.objects:
        row["fetched_at"] = fetched_at
    return _decoded_by(rows, decoding)
