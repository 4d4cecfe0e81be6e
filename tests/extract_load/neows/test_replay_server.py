"""The replay server: recorded responses at their real paths and queries, 404s, rate limit, faults."""

from __future__ import annotations

import json

import pytest
import requests

from extract_load.neows.replay import Fault, ReplayServer, recorded_index
from extract_load.neows.settings import RECORDED_DIR

SERVED = sorted(
    path.name
    for path in RECORDED_DIR.glob("*.json")
    if not path.name.endswith(".headers.json") and "_rec" not in path.name
)


def _get(server: ReplayServer, path: str, **params: str) -> requests.Response:
    return requests.get(server.base_url + path, params=params, timeout=5)


def test_every_recorded_response_is_served_byte_for_byte_at_its_real_request(replay):
    index = recorded_index([RECORDED_DIR])
    assert sorted(path.name for path in index.values()) == SERVED
    # 10 feeds (one detailed), 3 browse pages, 9 lookups (the 2024 revision of 3542519 is an alternative,
    # layered on demand)
    assert len(SERVED) == 22
    for (path, query), file in index.items():
        response = _get(replay, path, **dict(query), api_key="ANY-KEY")
        assert response.status_code == 200, file.name
        assert response.content == file.read_bytes(), file.name
        assert response.headers["Content-Type"] == "application/json"


def test_api_key_and_default_detailed_flag_are_ignored_in_matching(replay):
    plain = _get(replay, "/feed", start_date="2015-09-07", end_date="2015-09-08")
    with_extras = _get(replay, "/feed", end_date="2015-09-08", start_date="2015-09-07", detailed="false", api_key="K")
    assert plain.status_code == with_extras.status_code == 200
    assert plain.content == with_extras.content
    assert all("K" not in str(request.params) for request in replay.requests)
    assert [request.api_key_sent for request in replay.requests] == [False, True]


def test_a_detailed_feed_is_served_for_detailed_true_only(replay):
    window = {"start_date": "2016-11-19", "end_date": "2016-11-20"}
    recorded = (RECORDED_DIR / "feed_2016-11-19_2016-11-20_detailed.json").read_bytes()
    assert _get(replay, "/feed", **window, detailed="true").content == recorded
    assert _get(replay, "/feed", **window, detailed="True", api_key="K").content == recorded
    assert _get(replay, "/feed", **window).status_code == 404
    assert _get(replay, "/feed", **window, detailed="false").status_code == 404
    assert [request.params for request in replay.requests[-2:]] == [
        (("end_date", "2016-11-20"), ("start_date", "2016-11-19"))
    ] * 2


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/feed", {"start_date": "2015-09-07", "end_date": "2015-09-09"}),  # not recorded
        ("/feed", {"start_date": "2015-09-07", "end_date": "2015-09-08", "detailed": "true"}),
        ("/feed", {"start_date": "2015-09-07"}),
        ("/neo/browse", {"page": "1", "size": "20"}),
        ("/neo/3542519", {"extra": "1"}),
        ("/neo/1", {}),
        ("/planetary/apod", {}),
    ],
)
def test_unrecorded_requests_answer_404_with_a_json_reason(replay, path, params):
    response = _get(replay, path, **params)
    assert response.status_code == 404
    assert response.json()["http_error"] == "NOT_FOUND"


def test_layered_folder_takes_precedence(tmp_path, replay):
    (tmp_path / "feed_2015-09-07_2015-09-08.json").write_text('{"revised": true}')
    replay.layer(tmp_path)
    assert _get(replay, "/feed", start_date="2015-09-07", end_date="2015-09-08").json() == {"revised": True}
    assert _get(replay, "/neo/browse", page="0", size="2").status_code == 200  # the rest still served


def test_rate_limit_counts_down_then_answers_429_over_rate_limit():
    with ReplayServer(rate_limit=2) as server:
        remaining = [_get(server, "/neo/3726788").headers["X-RateLimit-Remaining"] for _ in range(2)]
        over = _get(server, "/neo/3726788")
        server.reset_rate_limit()
        again = _get(server, "/neo/3726788")
    assert remaining == ["1", "0"]
    assert over.status_code == 429 and over.json()["error"]["code"] == "OVER_RATE_LIMIT"
    assert again.status_code == 200 and again.headers["X-RateLimit-Limit"] == "2"


def test_status_fault_with_retry_after_applies_to_matching_requests_only(replay):
    replay.inject(Fault("status", status=429, retry_after="1", path="/feed", times=2))
    lookup = _get(replay, "/neo/3726788")
    first = _get(replay, "/feed", start_date="2015-09-07", end_date="2015-09-08")
    second = _get(replay, "/feed", start_date="2015-09-07", end_date="2015-09-08")
    third = _get(replay, "/feed", start_date="2015-09-07", end_date="2015-09-08")
    assert lookup.status_code == 200
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "1"
    assert [request.fault for request in replay.requests] == [None, "status", "status", None]
    assert replay.pending_faults == []


def test_html_fault_is_a_200_with_an_html_page(replay):
    replay.inject(Fault("html"))
    response = _get(replay, "/neo/3726788")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_reset_fault_drops_the_connection(replay):
    replay.inject(Fault("reset"))
    with pytest.raises(requests.ConnectionError):
        _get(replay, "/neo/3726788")
    assert _get(replay, "/neo/3726788").status_code == 200


def test_truncate_fault_cuts_the_body_with_full_or_honest_length(replay):
    expected = (RECORDED_DIR / "neo_3726788.json").read_bytes()
    replay.inject(Fault("truncate", keep_fraction=0.5))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _get(replay, "/neo/3726788")
    replay.inject(Fault("truncate", keep_fraction=0.5, honest_length=True))
    honest = _get(replay, "/neo/3726788")
    assert honest.status_code == 200
    assert honest.content == expected[: len(expected) // 2]
    with pytest.raises(ValueError):
        honest.json()


def test_delay_fault_answers_late(replay):
    replay.inject(Fault("delay", seconds=0.5))
    with pytest.raises(requests.Timeout):
        requests.get(replay.base_url + "/neo/3726788", timeout=0.1)
    assert _get(replay, "/neo/3726788").status_code == 200


def test_faults_can_be_queued_over_http_and_the_request_log_read_back(replay):
    control = replay.base_url.removesuffix("/neo/rest/v1") + "/_replay"
    queued = requests.post(f"{control}/faults", data=json.dumps([{"kind": "status", "status": 502}]), timeout=5)
    assert queued.json() == {"queued": 1}
    assert _get(replay, "/neo/3726788").status_code == 502
    log = requests.get(f"{control}/requests", timeout=5).json()
    assert [(entry["path"], entry["status"], entry["fault"]) for entry in log] == [("/neo/3726788", 502, "status")]
    bad = requests.post(f"{control}/faults", data=json.dumps([{"kind": "meteor"}]), timeout=5)
    assert bad.status_code == 400


def test_server_prints_nothing(capfd):
    with ReplayServer() as server:
        _get(server, "/neo/3726788", api_key="SECRET-IN-QUERY")
        _get(server, "/nope", api_key="SECRET-IN-QUERY")
    captured = capfd.readouterr()
    assert captured.out == captured.err == ""
