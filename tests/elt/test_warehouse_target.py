import pytest
from dlt.destinations.impl.postgres.configuration import PostgresCredentials

from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget, redact


def test_network_url_is_parsed_into_its_parts():
    target = WarehouseTarget.from_url("postgresql://ana:s%40cret@db.example.com:6543/analytics?sslmode=require")
    assert (target.host, target.port, target.user, target.password, target.dbname) == (
        "db.example.com",
        6543,
        "ana",
        "s@cret",
        "analytics",
    )
    assert target.extra == {"sslmode": "require"}
    assert not target.is_unix_socket


def test_socket_url_and_defaults():
    target = WarehouseTarget.from_url("postgresql://postgres@/warehouse?host=/tmp/sock%20dir")
    assert target.is_unix_socket
    assert (target.host, target.port, target.user, target.password) == ("/tmp/sock dir", 5432, "postgres", "")


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@h:5/d",
        "postgresql+psycopg2://u:p@h:5/d",
        "postgresql+psycopg://u:p@h:5/d",
    ],
)
def test_scheme_aliases_are_accepted(url):
    assert WarehouseTarget.from_url(url).url() == "postgresql://u:p@h:5/d"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/d", "must start with postgresql://"),
        ("", "must start with postgresql://"),
        ("postgresql://u:p@h:5432", "names no database"),
        ("postgresql://u@h:notaport/d", "non-numeric port"),
        ("postgresql://u@h/d?nonsense", "cannot be parsed"),
        ("postgresql://u@h1,h2/d", "several hosts"),
    ],
)
def test_bad_urls_give_one_clear_line(url, message):
    with pytest.raises(EltError, match=message) as info:
        WarehouseTarget.from_url(url)
    assert "\n" not in str(info.value)


def test_password_never_appears_in_errors_or_redacted_urls():
    with pytest.raises(EltError) as info:
        WarehouseTarget.from_url("mysql://u:topsecret@h/d")
    assert "topsecret" not in str(info.value)
    assert redact("postgresql://u:topsecret@h/d") == "postgresql://u:***@h/d"
    assert redact("postgresql://u@h/d?password=topsecret&x=1") == "postgresql://u@h/d?password=***&x=1"
    assert "topsecret" not in WarehouseTarget.from_url("postgresql://u:topsecret@h/d").redacted_url()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p%2Fw@127.0.0.1:5433/wh?sslmode=disable",
        "postgresql://postgres@/wh?host=/var/run/socket&port=5999",
        "postgresql://postgres@/wh?host=/Users/ana/Library/Application%20Support/wh&port=5432",
    ],
)
def test_url_round_trips(url):
    target = WarehouseTarget.from_url(url)
    assert WarehouseTarget.from_url(target.url()) == target


def test_roles_are_prefixed_with_the_database():
    target = WarehouseTarget.from_url("postgresql://u@h/sales")
    assert [target.role(kind) for kind in ("loader", "transformer", "reporter")] == [
        "sales_loader",
        "sales_transformer",
        "sales_reporter",
    ]


def test_dlt_credentials_parse_in_dlt_with_socket_and_loader_role():
    target = WarehouseTarget.from_url("postgresql://postgres@/wh?host=/run/pg&port=5999")
    credentials = PostgresCredentials()
    credentials.parse_native_representation(target.dlt_credentials())
    assert credentials.host == "localhost"
    assert credentials.password == "x"
    assert credentials.port == 5999
    assert credentials.database == "wh"
    assert credentials.query["host"] == "/run/pg"
    assert credentials.query["options"] == "-c role=wh_loader"


def test_dlt_credentials_keep_a_real_password_and_extras():
    target = WarehouseTarget.from_url("postgresql://ana:p%40ss@10.1.2.3:5433/wh?sslmode=require")
    credentials = PostgresCredentials()
    credentials.parse_native_representation(target.dlt_credentials("loader"))
    assert (credentials.host, credentials.password, credentials.username) == ("10.1.2.3", "p@ss", "ana")
    assert credentials.query["sslmode"] == "require"


def test_environment_feeds_profiles_and_dlt():
    env = WarehouseTarget.from_url("postgresql://ana:pw@h:5433/wh?sslmode=require").environment()
    assert env["WAREHOUSE_HOST"] == "h"
    assert env["WAREHOUSE_PORT"] == "5433"
    assert env["WAREHOUSE_DB"] == "wh"
    assert env["DBT_ENV_SECRET_WAREHOUSE_PASSWORD"] == "pw"
    assert "WAREHOUSE_PASSWORD" not in env
    assert env["WAREHOUSE_SSLMODE"] == "require"
    assert env["DESTINATION__POSTGRES__CREDENTIALS"].startswith("postgresql://ana:pw@h:5433/wh?")
