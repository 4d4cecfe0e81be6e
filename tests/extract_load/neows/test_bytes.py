"""Bodies as real archives hold them: declared charsets, Windows-1252, undecodable and unparsable bodies.

A Windows-1252 body (byte 0x92, the apostrophe of "Earth's orbit" in ``orbit_class_description``) loads,
with its decoding kept on the row. A complete body that cannot be decoded or parsed is a permanent error
for its id: one request, status ``rejected`` with the reason, the body quarantined, and the other ids of
the run load; a rerun does not ask for it again. A body cut short is still retried.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extract_load.neows.client import (
    BodyDecodeError,
    NeoWsBodyError,
    NeoWsClient,
    RetryPolicy,
    decode_body,
    redact_json,
)
from extract_load.neows.replay import Fault
from extract_load.neows.settings import RECORDED_DIR
from tests.extract_load.neows.conftest import RAW, query

APOLLO = "2382406"  # its orbit_class_description holds U+2019 RIGHT SINGLE QUOTATION MARK ("Earth's orbit")
EARTHS = "Earth\u2019s orbit"
POISON = "3542519"
AFTER = "54049909"
WATCH = [APOLLO, POISON, AFTER]
LOOKUPS_ONLY = {"resources": ("lookups",), "lookup_budget": 100}


def _recorded(neo_id: str) -> str:
    return (RECORDED_DIR / f"neo_{neo_id}.json").read_text(encoding="utf-8")


def _write(folder: Path, neo_id: str, body: bytes) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / f"neo_{neo_id}.json").write_bytes(body)
    return folder


def _cp1252(neo_id: str) -> bytes:
    body = _recorded(neo_id).encode("windows-1252")
    assert b"\x92" in body
    return body


def _undecodable(neo_id: str) -> bytes:
    """The recorded body with a byte that neither UTF-8 nor Windows-1252 reads (0x81) in its name."""
    return _recorded(neo_id).replace('"name":"', '"name":"\udc81', 1).encode("utf-8", errors="surrogateescape")


def _lookup_paths(replay) -> list[str]:
    return [r.path.removeprefix("/neo/") for r in replay.requests if r.path.startswith("/neo/")]


def _client(replay) -> NeoWsClient:
    return NeoWsClient(replay.base_url, "KEY", policy=RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02))


def test_decode_body_prefers_the_declared_charset_then_utf8_then_windows_1252():
    text = EARTHS
    assert decode_body(text.encode("utf-8"), "application/json") == (text, "utf-8")
    assert decode_body(text.encode("windows-1252"), "application/json") == (text, "fallback:windows-1252")
    assert decode_body("Ελλάδα".encode("iso-8859-7"), 'application/json; charset="ISO-8859-7"') == (
        "Ελλάδα",
        "declared:iso-8859-7",
    )
    # a wrong declaration falls through to UTF-8
    assert decode_body(text.encode("utf-8"), "application/json; charset=us-ascii") == (text, "utf-8")
    with pytest.raises(BodyDecodeError, match=r"windows-1252: byte 0x81 at offset 1"):
        decode_body(b'"\x81"', "application/json; charset=nonesuch")


def test_a_windows_1252_body_is_read_once_and_returns_its_decoding(replay, tmp_path):
    replay.layer(_write(tmp_path / "cp1252", APOLLO, _cp1252(APOLLO)))
    fetched = _client(replay).fetch(f"neo/{APOLLO}")
    assert fetched.decoding == "fallback:windows-1252"
    assert fetched.document == redact_json(json.loads(_recorded(APOLLO)))
    assert len(replay.requests) == 1


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (_undecodable(POISON), r"undecodable body \(utf-8: byte 0x81 at offset \d+; windows-1252: byte 0x81"),
        (_recorded(POISON).replace('"name":"', '"name":"x" "', 1).encode(), r"invalid JSON \(\d+ bytes, utf-8\)"),
        (b"[1, 2]", "a JSON list, not an object"),
    ],
    ids=["undecodable", "unparsable", "not-an-object"],
)
def test_a_complete_but_unreadable_body_is_not_retried(replay, tmp_path, body, cause):
    replay.layer(_write(tmp_path / "bad", POISON, body))
    with pytest.raises(NeoWsBodyError, match=cause) as failure:
        _client(replay).fetch(f"neo/{POISON}")
    assert str(failure.value).startswith(f"NeoWs GET {replay.base_url}/neo/{POISON} failed after 1 attempt(s)")
    assert failure.value.body_bytes == len(body)
    assert len(replay.requests) == 1


def test_a_declared_charset_is_used_before_utf8_and_windows_1252(replay, tmp_path):
    # ISO-8859-7 reads 0xC1 0xE8 as Greek; UTF-8 cannot, and Windows-1252 would give "Áè"
    document = json.loads(_recorded(AFTER))
    document["name"] = "(Αθήνα)"
    folder = _write(tmp_path / "greek", AFTER, json.dumps(document, ensure_ascii=False).encode("iso-8859-7"))
    headers = {"headers": {"Content-Type": "application/json; charset=ISO-8859-7"}}
    (folder / f"neo_{AFTER}.headers.json").write_text(json.dumps(headers))
    replay.layer(folder)
    fetched = _client(replay).fetch(f"neo/{AFTER}")
    assert (fetched.document["name"], fetched.decoding) == ("(Αθήνα)", "declared:iso-8859-7")


def test_a_body_shorter_than_its_content_length_is_retried(replay):
    replay.inject(Fault("truncate", keep_fraction=0.5, path=f"/neo/{APOLLO}"))
    assert _client(replay).fetch(f"neo/{APOLLO}").document["neo_reference_id"] == APOLLO
    assert [r.fault for r in replay.requests] == ["truncate", None]


def test_a_poison_id_in_the_watch_list_is_quarantined_and_the_run_loads_the_rest(
    load_neows, warehouse_env, replay, tmp_path, clock
):
    replay.layer(_write(tmp_path / "archive", APOLLO, _cp1252(APOLLO)))
    _write(tmp_path / "archive", POISON, _undecodable(POISON))
    load_neows(lookup_ids=WATCH, **LOOKUPS_ONLY)

    assert _lookup_paths(replay) == [APOLLO, POISON, AFTER]  # one request each: nothing retried
    assert query(warehouse_env, f"select neo_reference_id, response_decoding from {RAW}.lookups order by 1") == [
        (APOLLO, "fallback:windows-1252"),
        (AFTER, "utf-8"),
    ]
    assert query(
        warehouse_env,
        f"select orbital_data__orbit_class__orbit_class_description from {RAW}.lookups where neo_reference_id = %s",
        (APOLLO,),
    ) == [(f"Near-Earth asteroid orbits which cross the {EARTHS} similar to that of 1862 Apollo",)]
    statuses = dict(query(warehouse_env, f"select neo_reference_id, status from {RAW}.lookup_status"))
    assert statuses == {APOLLO: "found", POISON: "rejected", AFTER: "found"}
    [(reason,)] = query(warehouse_env, f"select reason from {RAW}.lookup_status where status = 'rejected'")
    assert reason.startswith("HTTP 200 with an undecodable body (utf-8: byte 0x81")
    [(request, position, quarantined, payload)] = query(
        warehouse_env, f"select request, position, reason, payload from {RAW}.rejected_records"
    )
    assert (request, position, quarantined) == (f"neo/{POISON}?", "$", reason)
    assert payload["body_bytes"] == len(_undecodable(POISON)) and len(payload["body_sha256"]) == 64
    approaches = dict(
        query(warehouse_env, f"select neo_reference_id, count(*) from {RAW}.lookup_close_approaches group by 1")
    )
    assert set(approaches) == {APOLLO, AFTER}

    load_neows(lookup_ids=WATCH, **LOOKUPS_ONLY)  # a rerun asks for nothing: the poison id is not refetched
    assert _lookup_paths(replay) == [APOLLO, POISON, AFTER]

    clock.advance(days=31)  # rejected ids are asked again like found ones: a repaired response loads
    _write(tmp_path / "archive", POISON, _recorded(POISON).encode())
    load_neows(lookup_ids=WATCH, **LOOKUPS_ONLY)
    assert sorted(_lookup_paths(replay)[3:]) == sorted(WATCH)
    statuses = dict(query(warehouse_env, f"select neo_reference_id, status from {RAW}.lookup_status"))
    assert statuses == dict.fromkeys(WATCH, "found")
