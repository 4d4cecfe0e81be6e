"""Landing areas behind fsspec URLs: file:// and s3:// against a local S3-compatible server (moto)."""

import json
import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer

HEADER = "transaction_id,user_id,total_cost,dt\n"


def test_file_url_landing(tx, monkeypatch):
    monkeypatch.setenv("SOURCES__TRANSACTIONS__BUCKET_URL", tx.landing.as_uri())
    tx.drop("day1.csv", HEADER + "f1,1,1.00,2024-01-01\n", mtime=1_700_000_000)
    tx.run()
    assert [row[:5] for row in tx.transactions()] == [("f1", 1, "1.00", "2024-01-01", "day1.csv")]


@pytest.fixture
def s3_bucket(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="drops")
    try:
        yield client, endpoint
    finally:
        server.stop()


def test_s3_landing_is_incremental_by_object_version(tx, monkeypatch, s3_bucket):
    client, endpoint = s3_bucket
    monkeypatch.setenv("SOURCES__TRANSACTIONS__BUCKET_URL", "s3://drops/transactions")
    monkeypatch.setenv(
        "SOURCES__TRANSACTIONS__STORAGE_OPTIONS",
        json.dumps({"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": endpoint}}),
    )
    client.put_object(Bucket="drops", Key="transactions/2024/day1.csv", Body=HEADER + "s1,1,1.00,2024-01-01\n")
    client.put_object(Bucket="drops", Key="transactions/2024/day2.csv.gz", Body=_gzip(HEADER + "s2,2,-2,2024-01-02\n"))
    client.put_object(Bucket="drops", Key="elsewhere/ignored.csv", Body=HEADER + "x,1,1.00,2024-01-01\n")
    tx.run()
    assert [row[:5] for row in tx.transactions()] == [("s1", 1, "1.00", "2024-01-01", "2024/day1.csv")]
    assert tx.rejects() == [("2024/day2.csv.gz", 1, "total_cost", "negative cost")]
    first = tx.checksums()
    tx.run()
    assert tx.checksums() == first
    client.put_object(
        Bucket="drops", Key="transactions/2024/day1.csv", Body=HEADER + "s1,1,5.00,2024-01-01\nz,1,1,2024-01-01\n"
    )
    tx.run()
    assert [(row[0], row[2]) for row in tx.transactions()] == [("s1", "5.00"), ("z", "1.00")]


def _gzip(text: str) -> bytes:
    import gzip

    return gzip.compress(text.encode())
