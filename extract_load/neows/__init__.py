"""NASA NeoWs (Near Earth Object Web Service) source: feed windows and browse pages into ``raw_neows``.

Tables (all merged, so reruns and overlapping windows leave the same rows):

- ``asteroids``: feed objects, one row per ``neo_reference_id`` (the one id every API era has).
- ``close_approaches``: the feed's approaches, keyed ``(neo_reference_id, close_approach_date,
  orbiting_body)``, in their own table rather than as dlt child rows, which a merge of the same asteroid
  from a later window would delete. ``close_approach_date`` is also the merge key: a window's response
  replaces every approach stored for its dates, so a revised response leaves no stale approach behind.
- ``browse_asteroids`` / ``browse_close_approaches``: browse objects with their orbital elements, and
  their full approach lists (replaced whole per object: ``neo_reference_id`` is the merge key).
- ``rejected_records``: objects or approaches that cannot be keyed or hold a value of the wrong type (an
  object's approaches go with it), and lookup bodies that cannot be decoded or parsed, with request,
  position, reason and payload.

State and atomicity: the feed's coverage and the browse's next page live in dlt's resource state, which
dlt saves in the same load package as the rows. dlt extracts everything before it loads, so a request that
fails for good aborts the extract: nothing is loaded and the state does not move. The exception is a
lookup whose complete body cannot be decoded or parsed: it is quarantined for its id and the run goes on.
Running out of rate limit (``X-RateLimit-Remaining`` at the floor) is not a failure: the run loads what it
fetched and the next run resumes there. ``dlt.sources.incremental`` is not used because the cursor is the request
window, not a field of the rows, and it switches its lag off whenever an end value is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from extract_load.common.metrics import COLLAPSED_ROWS_METRIC
from extract_load.neows.client import (
    NeoWsBodyError,
    NeoWsClient,
    NeoWsNotFoundError,
    NeoWsRateLimitedError,
    RateLimitBudgetExhaustedError,
    RetryPolicy,
)
from extract_load.neows.helpers import (
    Rows,
    browse_rows,
    coverage_from_state,
    coverage_to_state,
    feed_rows,
    has_orbital_elements,
    lookup_rows,
    merge_intervals,
    parse_day,
    plan_lookups,
    plan_windows,
    read_id_file,
    rejected_record,
)
from extract_load.neows.replay import ReplayServer
from extract_load.neows.settings import (
    ASTEROID_COLUMNS,
    ASTEROIDS,
    BROWSE_ASTEROID_COLUMNS,
    BROWSE_ASTEROIDS,
    BROWSE_CLOSE_APPROACHES,
    CLOSE_APPROACH_COLUMNS,
    CLOSE_APPROACH_KEY,
    CLOSE_APPROACHES,
    DEMO_KEY,
    LOOKUP_CLOSE_APPROACHES,
    LOOKUP_COLUMNS,
    LOOKUP_COVERED_BY_BROWSE,
    LOOKUP_COVERED_BY_FEED,
    LOOKUP_FOUND,
    LOOKUP_NOT_FOUND,
    LOOKUP_REJECTED,
    LOOKUP_STATUS,
    LOOKUP_STATUS_COLUMNS,
    LOOKUPS,
    REJECTED_COLUMNS,
    REJECTED_RECORDS,
    REPLAY,
    SCHEMA_CONTRACT,
)

__all__ = ["neows_source", "open_base_url"]

logger = logging.getLogger(__name__)


@contextmanager
def open_base_url(base_url: str) -> Iterator[str]:
    """Yield a usable NeoWs base URL: ``base_url`` itself, or for ``"replay"`` a replay server's, for the block."""
    if base_url.strip().lower() != REPLAY:
        yield base_url
        return
    with ReplayServer() as server:
        yield server.base_url


@dlt.source(name="neows", max_table_nesting=0)
def neows_source(
    base_url: str = dlt.config.value,
    api_key: TSecretStrValue = DEMO_KEY,
    start_date: str = dlt.config.value,
    end_date: str = "today",
    window_days: int = 7,
    lookback_days: int = 7,
    refetch: bool = False,
    detailed: bool = False,
    browse_page_size: int = 20,
    browse_start_page: int = 0,
    browse_max_pages: int = 1,
    browse_end_page: int | None = None,
    max_attempts: int = 5,
    backoff_base: float = 0.5,
    backoff_cap: float = 8.0,
    jitter_seed: int | None = 0,
    max_retry_after: float = 60.0,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    min_rate_limit_remaining: int = 0,
    api_key_transport: str = "header",
    lookup_budget: int = 25,
    lookup_max_age_days: float = 30.0,
    lookup_not_found_retry_days: float = 90.0,
    lookup_ids: list[str] | None = None,
    lookup_ids_file: str | None = None,
) -> Sequence[DltResource]:
    """The NeoWs feed and browse resources. Every argument comes from ``[sources.neows]`` (see README.md).

    Args:
        base_url: API root up to ``/neo/rest/v1`` (live: ``https://api.nasa.gov/neo/rest/v1``); resolve
            ``"replay"`` with :func:`open_base_url` first.
        api_key: api.nasa.gov key (secret; ``DEMO_KEY`` when unset).
        start_date: first feed date (``YYYY-MM-DD``); anchors the window grid.
        end_date: last feed date, inclusive (``YYYY-MM-DD`` or ``today``, UTC).
        window_days: ``end_date - start_date`` of one feed request, at most 7 (the API's limit).
        lookback_days: most recent loaded dates fetched again each run, to pick up revisions.
        refetch: fetch every window of ``[start_date, end_date]`` even if loaded before (a backfill).
        detailed: request the feed with ``detailed=true``: its objects then carry their orbital elements,
            which reach the orbits like browse elements and spare those asteroids lookups while fresh.
        browse_page_size: objects per browse page.
        browse_start_page: first page of a browse sweep.
        browse_max_pages: at most this many browse pages per run (0 disables browse).
        browse_end_page: the sweep ends before this page (None: at the API's ``total_pages``); the next
            run then starts a new sweep at ``browse_start_page``.
        max_attempts: attempts per request, retries included.
        backoff_base: first backoff wait in seconds (doubled per retry, jittered).
        backoff_cap: longest backoff wait in seconds.
        jitter_seed: seed of the jitter (None: unseeded).
        max_retry_after: longest ``Retry-After`` honoured; a longer one gives up at once.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for a response.
        min_rate_limit_remaining: stop sending requests once ``X-RateLimit-Remaining`` is at or below this.
        api_key_transport: ``header`` (``X-Api-Key``) or ``query`` (``api_key=``).
        lookup_budget: at most this many ``/neo/{id}`` requests (retries included) per run (0 disables
            lookups); DEMO_KEY allows about 30 requests an hour, a personal key about 1,000.
        lookup_max_age_days: a looked-up object is looked up again once its lookup is this old; an object
            whose browse object carried its orbital elements is not looked up until that is this old.
        lookup_not_found_retry_days: an id that answered 404 is asked again only after this many days.
        lookup_ids: ids to look up besides those seen in the feed and browse (a watch list; its new ids
            are looked up before the others).
        lookup_ids_file: a file of more watch-list ids, one per line (``#`` comments and blank lines
            ignored), for lists too long for an environment variable; relative to the working directory.

    Returns:
        The ``feed``, ``browse`` and ``lookups`` resources.
    """
    if base_url.strip().lower() == REPLAY:
        raise ValueError("base_url 'replay' must be resolved with open_base_url() (neows_pipeline.run() does it)")
    client = NeoWsClient(
        base_url,
        api_key or DEMO_KEY,
        policy=RetryPolicy(
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            jitter_seed=jitter_seed,
            max_retry_after=max_retry_after,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        ),
        min_rate_limit_remaining=min_rate_limit_remaining,
        api_key_transport=api_key_transport,  # type: ignore[arg-type]
    )
    start, end = parse_day(start_date), parse_day(end_date)
    plan_windows(start, end, window_days, lookback_days)  # validate the settings before any request
    if browse_page_size < 1 or browse_start_page < 0 or browse_max_pages < 0:
        raise ValueError("browse_page_size must be >= 1, browse_start_page and browse_max_pages >= 0")
    if lookup_budget < 0 or lookup_max_age_days < 0 or lookup_not_found_retry_days < 0:
        raise ValueError("lookup_budget, lookup_max_age_days and lookup_not_found_retry_days must not be negative")
    watch = [str(neo_id) for neo_id in lookup_ids or []] + (read_id_file(lookup_ids_file) if lookup_ids_file else [])
    siblings = _Siblings()
    return (
        _feed_resource(client, start, end, window_days, lookback_days, refetch, detailed, siblings),
        _browse_resource(client, browse_page_size, browse_start_page, browse_max_pages, browse_end_page, siblings),
        _lookups_resource(
            client,
            siblings,
            budget=lookup_budget,
            max_age_days=lookup_max_age_days,
            not_found_retry_days=lookup_not_found_retry_days,
            extra_ids=list(dict.fromkeys(watch)),
        ),
    )


def utcnow() -> datetime:
    """The current time (UTC); tests replace it to age lookups."""
    return datetime.now(UTC)


@dataclass
class _Siblings:
    """What the feed and browse resources of this run saw, and whether they are still extracting.

    ``seen``: ids of every asteroid delivered; ``browsed`` and ``feed_orbits``: those whose browse or feed
    object carried its orbital elements (a lookup would deliver nothing more). ``lookups`` depends on both
    resources: it yields nothing (``None``, which dlt skips) until every one of them that started has
    finished. dlt's default round-robin extraction polls every resource once per cycle, so each selected
    sibling has started by the lookups' second poll.
    """

    running: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    browsed: set[str] = field(default_factory=set)
    feed_orbits: set[str] = field(default_factory=set)

    @contextmanager
    def extracting(self, name: str) -> Iterator[None]:
        self.running.add(name)
        try:
            yield
        finally:
            self.running.discard(name)


def _table(
    resource: DltResource,
    name: str,
    primary_key: list[str],
    merge_key: str | None,
    columns: dict[str, Any],
) -> None:
    """Declare one of the tables a resource writes to (a dlt table variant: its own keys and columns)."""
    resource.apply_hints(
        table_name=name,
        write_disposition="merge",
        primary_key=primary_key,
        merge_key=merge_key or "",
        columns=columns,
        schema_contract=SCHEMA_CONTRACT,
        create_table_variant=True,
    )


def _with_rejected_table(resource: DltResource) -> DltResource:
    _table(resource, REJECTED_RECORDS, ["request", "position"], None, REJECTED_COLUMNS)
    return resource


def _feed_resource(
    client: NeoWsClient,
    start: Any,
    end: Any,
    window_days: int,
    lookback_days: int,
    refetch: bool,
    detailed: bool,
    siblings: _Siblings,
) -> DltResource:
    @dlt.resource(name="feed", table_name=ASTEROIDS, write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
    def feed() -> Iterator[Any]:
        with siblings.extracting("feed"):
            yield from _feed_items()

    def _feed_items() -> Iterator[Any]:
        """Feed windows not loaded yet plus the lookback; asteroids of later windows win within a run."""
        state = dlt.current.resource_state()
        coverage = coverage_from_state(state.get("coverage"))
        asteroids: dict[str, dict[str, Any]] = {}
        for window in plan_windows(start, end, window_days, lookback_days, coverage, refetch=refetch):
            params = {"start_date": window[0].isoformat(), "end_date": window[1].isoformat()}
            if detailed:
                params["detailed"] = "true"
            try:
                fetched = client.fetch("feed", params)
            except RateLimitBudgetExhaustedError as exc:
                logger.warning("%s: feed stops before %s..%s, the next run resumes there", exc, *window)
                break
            rows = feed_rows(fetched.document, window, _request("feed", params), fetched.decoding)
            _count_collapsed(rows, CLOSE_APPROACHES)
            yield from _approaches_and_rejects(rows, CLOSE_APPROACHES)
            asteroids.update((row["neo_reference_id"], row) for row in rows.objects)
            coverage = merge_intervals([*coverage, window])
            state["coverage"] = coverage_to_state(coverage)
        if asteroids:
            siblings.seen.update(asteroids)
            siblings.feed_orbits.update(neo_id for neo_id, row in asteroids.items() if has_orbital_elements(row))
            yield dlt.mark.with_table_name(list(asteroids.values()), ASTEROIDS)

    _table(feed, ASTEROIDS, ["neo_reference_id"], None, ASTEROID_COLUMNS)
    _table(feed, CLOSE_APPROACHES, list(CLOSE_APPROACH_KEY), "close_approach_date", CLOSE_APPROACH_COLUMNS)
    return _with_rejected_table(feed)


def _browse_resource(
    client: NeoWsClient, page_size: int, start_page: int, max_pages: int, end_page: int | None, siblings: _Siblings
) -> DltResource:
    @dlt.resource(
        name="browse", table_name=BROWSE_ASTEROIDS, write_disposition="merge", schema_contract=SCHEMA_CONTRACT
    )
    def browse() -> Iterator[Any]:
        with siblings.extracting("browse"):
            yield from _browse_items()

    def _browse_items() -> Iterator[Any]:
        """Up to ``max_pages`` browse pages from where the last run stopped; a finished sweep starts over."""
        state = dlt.current.resource_state()
        resume = state.get("next_page") if state.get("page_size") == page_size else None
        page = resume if resume is not None and (end_page is None or resume < end_page) else start_page
        objects: dict[str, dict[str, Any]] = {}
        approaches: dict[str, list[dict[str, Any]]] = {}
        for _ in range(max_pages):
            params = {"page": page, "size": page_size}
            try:
                fetched = client.fetch("neo/browse", params)
            except RateLimitBudgetExhaustedError as exc:
                logger.warning("%s: browse stops before page %d, the next run resumes there", exc, page)
                break
            request = _request("neo/browse", params)
            rows, meta = browse_rows(fetched.document, request, fetched.decoding)
            _count_collapsed(rows, BROWSE_CLOSE_APPROACHES)
            if isinstance(meta.get("number"), int) and meta["number"] != page:
                raise ValueError(f"{request}: the API answered page {meta['number']} for page {page}")
            yield from _approaches_and_rejects(Rows(rejected=rows.rejected), BROWSE_CLOSE_APPROACHES)
            for row in rows.objects:
                objects[row["neo_reference_id"]] = row
                approaches[row["neo_reference_id"]] = []
            for approach in rows.approaches:
                approaches[approach["neo_reference_id"]].append(approach)
            page += 1
            total_pages = meta.get("total_pages")
            finished = (
                not rows.objects
                or (end_page is not None and page >= end_page)
                or (isinstance(total_pages, int) and page >= total_pages)
            )
            state.update(next_page=start_page if finished else page, page_size=page_size)
            if finished:
                break
        if objects:
            siblings.seen.update(objects)
            siblings.browsed.update(neo_id for neo_id, row in objects.items() if has_orbital_elements(row))
            yield dlt.mark.with_table_name(list(objects.values()), BROWSE_ASTEROIDS)
            yield dlt.mark.with_table_name(
                [row for rows_of_object in approaches.values() for row in rows_of_object], BROWSE_CLOSE_APPROACHES
            )

    _table(browse, BROWSE_ASTEROIDS, ["neo_reference_id"], None, BROWSE_ASTEROID_COLUMNS)
    _table(browse, BROWSE_CLOSE_APPROACHES, list(CLOSE_APPROACH_KEY), "neo_reference_id", CLOSE_APPROACH_COLUMNS)
    return _with_rejected_table(browse)


def _lookups_resource(
    client: NeoWsClient,
    siblings: _Siblings,
    *,
    budget: int,
    max_age_days: float,
    not_found_retry_days: float,
    extra_ids: list[str],
) -> DltResource:
    @dlt.resource(name="lookups", table_name=LOOKUPS, write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
    def lookups() -> Iterator[Any]:
        """``/neo/{id}`` of asteroids seen in the feed and browse: new ones first, then stale ones, within budget.

        An asteroid whose browse or (detailed) feed object of this run carried its orbital elements is not
        looked up (the lookup has the same shape and would spend the rate limit for nothing): it is recorded
        as checked by ``browse`` or ``feed`` now, and looked up only if no page or window delivers it again
        within ``max_age_days``.
        Resource state: ``pending`` (ids seen and never looked up) and ``checked`` (``{id: [status,
        checked_at]}``). Both move only with a load, so a run stopped by its budget or the rate limit resumes
        with the ids it did not reach. A response that is quarantined (a complete body that cannot be
        decoded or parsed, or an object with a value of the wrong type) is a permanent error for its id
        only: status ``rejected`` with the reason, asked again after ``max_age_days`` like a found one.
        """
        for _ in range(2):  # let every selected sibling start (round robin: one poll each per cycle)
            yield None
        while siblings.running:
            yield None
        state = dlt.current.resource_state()
        checked: dict[str, list[str]] = state.setdefault("checked", {})
        now = utcnow()
        checked.update((neo_id, [LOOKUP_COVERED_BY_FEED, now.isoformat()]) for neo_id in siblings.feed_orbits)
        checked.update((neo_id, [LOOKUP_COVERED_BY_BROWSE, now.isoformat()]) for neo_id in siblings.browsed)
        pending = (set(state.get("pending", [])) | siblings.seen | set(extra_ids)) - set(checked)
        plan = plan_lookups(pending, checked, now, max_age_days, not_found_retry_days, watch=extra_ids)
        objects: list[dict[str, Any]] = []
        approaches: list[dict[str, Any]] = []
        statuses: list[dict[str, Any]] = []
        first_request = client.stats.requests
        stopped = ""
        for neo_id in plan:
            if client.stats.requests - first_request >= budget:
                stopped = f"lookup budget of {budget} requests used"
                break
            request = _request(f"neo/{neo_id}", {})
            try:
                fetched = client.fetch(f"neo/{neo_id}")
            except NeoWsNotFoundError:
                statuses.append(_status(neo_id, LOOKUP_NOT_FOUND, 404, now))
            except NeoWsBodyError as exc:
                logger.warning("%s: quarantined, the lookups go on", exc)
                yield dlt.mark.with_table_name([_body_rejected(request, exc)], REJECTED_RECORDS)
                statuses.append(_status(neo_id, LOOKUP_REJECTED, 200, now, exc.cause))
            except (RateLimitBudgetExhaustedError, NeoWsRateLimitedError) as exc:
                stopped = str(exc).splitlines()[0]
                break
            else:
                rows = lookup_rows(fetched.document, neo_id, request, now, fetched.decoding)
                _count_collapsed(rows, LOOKUP_CLOSE_APPROACHES)
                objects.extend(rows.objects)
                approaches.extend(rows.approaches)
                if rows.rejected:
                    yield dlt.mark.with_table_name(rows.rejected, REJECTED_RECORDS)
                if rows.objects:
                    statuses.append(_status(neo_id, LOOKUP_FOUND, 200, now))
                else:
                    reason = next(record["reason"] for record in rows.rejected if record["position"] == "$")
                    statuses.append(_status(neo_id, LOOKUP_REJECTED, 200, now, reason))
            checked[neo_id] = [statuses[-1]["status"], now.isoformat()]
            pending.discard(neo_id)
        state["pending"] = sorted(pending - set(checked), key=lambda neo_id: (len(neo_id), neo_id))
        if stopped:
            logger.warning(
                "%s: lookups stop with %d id(s) due, the next run resumes there", stopped, len(plan) - len(statuses)
            )
        if objects:
            yield dlt.mark.with_table_name(objects, LOOKUPS)
        if approaches:
            yield dlt.mark.with_table_name(approaches, LOOKUP_CLOSE_APPROACHES)
        if statuses:
            yield dlt.mark.with_table_name(statuses, LOOKUP_STATUS)

    _table(lookups, LOOKUPS, ["neo_reference_id"], None, LOOKUP_COLUMNS)
    _table(lookups, LOOKUP_CLOSE_APPROACHES, list(CLOSE_APPROACH_KEY), "neo_reference_id", CLOSE_APPROACH_COLUMNS)
    _table(lookups, LOOKUP_STATUS, ["neo_reference_id"], None, LOOKUP_STATUS_COLUMNS)
    return _with_rejected_table(lookups)


def _status(neo_id: str, status: str, http_status: int, now: datetime, reason: str | None = None) -> dict[str, Any]:
    return {
        "neo_reference_id": neo_id,
        "status": status,
        "http_status": http_status,
        "reason": reason,
        "checked_at": now,
    }


def _body_rejected(request: str, error: NeoWsBodyError) -> dict[str, Any]:
    """The quarantine row of a body that cannot be decoded or parsed: its size, digest and an excerpt."""
    payload = {"body_bytes": error.body_bytes, "body_sha256": error.body_sha256, "excerpt": error.excerpt}
    return rejected_record(request, "$", error.cause, payload)


def _count_collapsed(rows: Rows, table: str) -> None:
    """Add a response's collapsed duplicate approaches to the resource's ``rows_collapsed`` metric."""
    if rows.collapsed:
        collapsed = dlt.current.resource_metrics().setdefault(COLLAPSED_ROWS_METRIC, {})
        collapsed[table] = collapsed.get(table, 0) + rows.collapsed


def _approaches_and_rejects(rows: Rows, approaches_table: str) -> Iterator[Any]:
    if rows.approaches:
        yield dlt.mark.with_table_name(rows.approaches, approaches_table)
    if rows.rejected:
        yield dlt.mark.with_table_name(rows.rejected, REJECTED_RECORDS)


def _request(path: str, params: dict[str, Any]) -> str:
    """The request as stored with quarantined rows: endpoint and query, no host (replay ports vary), no key."""
    return f"{path}?" + "&".join(f"{key}={value}" for key, value in params.items())
