"""The NeoWs HTTP client against the replay server: retries, backoff, Retry-After, rate limit, key hygiene."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest

from extract_load.neows.client import (
    NeoWsClient,
    NeoWsError,
    NeoWsNotFoundError,
    RateLimitBudgetExhaustedError,
    RetryPolicy,
    parse_retry_after,
    redact,
    redact_json,
)
from extract_load.neows.replay import Fault, ReplayServer

KEY = "TEST-KEY-7f3a9c"  # distinctive, so any leak is found by a plain substring search
FEED = ("feed", {"start_date": "2015-09-07", "end_date": "2015-09-08"})
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05, jitter_seed=7, max_retry_after=2.0)


def _client(server: ReplayServer, policy: RetryPolicy = FAST, **kwargs) -> NeoWsClient:
    return NeoWsClient(server.base_url, KEY, policy=policy, **kwargs)


def test_get_returns_the_document_with_api_keys_scrubbed_from_every_link(replay):
    document = _client(replay, api_key_transport="query").get(*FEED)
    assert document["element_count"] == 25
    assert document["links"]["self"].endswith("/feed?start_date=2015-09-07&end_date=2015-09-08&detailed=false")
    neo = document["near_earth_objects"]["2015-09-08"][0]
    assert neo["links"]["self"] == "http://api.nasa.gov/neo/rest/v1/neo/2465633"
    assert "api_key" not in repr(document)


@pytest.mark.parametrize("transport", ["header", "query"])
def test_the_key_is_sent_by_the_chosen_transport(replay, transport):
    _client(replay, api_key_transport=transport).get(*FEED)
    assert replay.requests[-1].api_key_sent
    assert KEY not in repr(replay.requests)


def test_retries_5xx_with_capped_exponential_backoff_and_seeded_jitter(replay):
    replay.inject(Fault("status", status=503, times=2))
    client = _client(replay, RetryPolicy(max_attempts=3, backoff_base=0.02, backoff_cap=0.03, jitter_seed=11))
    assert client.get(*FEED)["element_count"] == 25
    assert [request.status for request in replay.requests] == [503, 503, 200]
    assert client.stats.retries == 2
    first, second = client.stats.waits
    assert 0.01 <= first < 0.02  # base * [0.5, 1)
    assert 0.015 <= second < 0.03  # min(cap, 2 * base) * [0.5, 1)
    # the same seed gives the same waits
    replay.inject(Fault("status", status=503, times=2))
    again = _client(replay, RetryPolicy(max_attempts=3, backoff_base=0.02, backoff_cap=0.03, jitter_seed=11))
    again.get(*FEED)
    assert again.stats.waits == client.stats.waits


def test_429_honours_retry_after(replay):
    replay.inject(Fault("status", status=429, retry_after="1"))
    client = _client(replay)
    started = time.monotonic()
    client.get(*FEED)
    assert time.monotonic() - started >= 1.0
    assert client.stats.waits == [1.0]


def test_retry_after_beyond_the_cap_gives_up_at_once(replay):
    replay.inject(Fault("status", status=429, retry_after="3600", times=3))
    with pytest.raises(NeoWsError, match=r"after 1 attempt\(s\).*HTTP 429.*Retry-After 3600 s exceeds max_retry_after"):
        _client(replay).get(*FEED)
    assert len(replay.requests) == 1


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        (Fault("status", status=500), "HTTP 500"),
        (Fault("status", status=502), "HTTP 502"),
        (Fault("reset"), "connection failed"),
        (Fault("truncate", keep_fraction=0.3), "response body cut short"),
        (Fault("truncate", keep_fraction=0.3, honest_length=True), "truncated JSON"),
        (Fault("html"), "HTML body"),
        (Fault("delay", seconds=1.0), "timed out"),
    ],
    ids=["500", "502", "reset", "truncated-body", "truncated-json", "html", "timeout"],
)
def test_transient_faults_are_retried_and_persistent_ones_give_up_with_every_cause(replay, fault, cause):
    policy = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02, read_timeout=0.3)
    replay.inject(Fault(**{**fault.__dict__, "times": 1}))
    client = _client(replay, policy, api_key_transport="query")
    assert client.get(*FEED)["element_count"] == 25
    assert client.stats.retries == 1

    replay.inject(Fault(**{**fault.__dict__, "times": 3}))
    with pytest.raises(NeoWsError) as failure:
        _client(replay, policy, api_key_transport="query").get(*FEED)
    message = str(failure.value)
    assert message.startswith(f"NeoWs GET {replay.base_url}/feed?start_date=2015-09-07&end_date=2015-09-08 failed")
    assert "after 3 attempt(s)" in message
    assert message.count(cause) == 3, message
    assert KEY not in message and "api_key" not in message
    assert failure.value.__context__ is None and failure.value.__cause__ is None


def test_404_is_not_retried_and_has_its_own_error(replay):
    with pytest.raises(NeoWsNotFoundError, match="HTTP 404"):
        _client(replay).get("neo/1")
    assert len(replay.requests) == 1


def test_403_is_not_retried_and_hints_at_the_key(replay):
    replay.inject(Fault("status", status=403, times=3))
    with pytest.raises(NeoWsError, match=r"after 1 attempt.*HTTP 403.*API key"):
        _client(replay).get(*FEED)


def test_rate_limit_remaining_is_read_and_the_floor_stops_before_sending():
    with ReplayServer(rate_limit=3) as server:
        client = _client(server, min_rate_limit_remaining=1)
        client.get(*FEED)
        assert (client.stats.rate_limit_limit, client.stats.rate_limit_remaining) == (3, 2)
        client.get(*FEED)
        with pytest.raises(RateLimitBudgetExhaustedError, match="X-RateLimit-Remaining is 1"):
            client.get(*FEED)
        assert len(server.requests) == 2


def test_the_key_never_reaches_logs_or_repr(replay, caplog):
    caplog.set_level(logging.DEBUG)
    replay.inject(Fault("reset"), Fault("status", status=503))
    client = _client(replay, api_key_transport="query")
    client.get(*FEED)
    assert client.stats.retries == 2
    assert "retry 1 of 2" in caplog.text
    assert KEY not in caplog.text
    assert KEY not in repr(client)


def test_parse_retry_after_reads_seconds_and_http_dates():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_redact_removes_the_key_and_api_key_parameters():
    assert redact("https://h/x?a=1&api_key=ABC&b=2") == "https://h/x?a=1&b=2"
    assert redact("https://h/x?api_key=ABC") == "https://h/x"
    assert redact("https://h/x?api_key=ABC&b=2") == "https://h/x?b=2"
    assert redact("https://h/x?a=1&api_key=ABC") == "https://h/x?a=1"
    assert redact("key SECRET in text", "SECRET") == "key <redacted> in text"
    assert redact_json({"links": ["u?api_key=X"], "n": 1}) == {"links": ["u"], "n": 1}


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="api_key_transport"):
        NeoWsClient("http://x", KEY, api_key_transport="cookie")
