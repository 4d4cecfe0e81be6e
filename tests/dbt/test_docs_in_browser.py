"""The dbt docs site in a real browser: served by `elt docs --serve`, and the single file opened from disk.

Chromium is driven by Playwright through ``executable_path`` (the system's browser; nothing is downloaded).
Every request the pages make is recorded: none may leave 127.0.0.1 (or the file itself). Screenshots are
kept under pytest's temporary folder and named in the output.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO_ROOT
from tests.elt.test_cli import SCRUBBED

pytestmark = pytest.mark.browser

CLV = "model.warehouse_elt.customer_lifetime_value"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served_docs(demo_warehouse, tmp_path_factory) -> Iterator[str]:
    """`elt docs --serve` on the demo warehouse, in a process of its own; yields the URL it printed."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env = {**clean, **demo_warehouse.environment, "ELT_HOME": str(tmp_path_factory.mktemp("docs-home"))}
    log = tmp_path_factory.mktemp("docs-serve") / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "elt.cli", "docs", "--serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 240
        while url not in log.read_text() or not _listening(port):
            assert server.poll() is None, f"elt docs --serve exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"elt docs --serve did not start:\n{log.read_text()[-4000:]}"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def browser(browser_executable: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser_executable, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path, capsys) -> Iterator[object]:
    """A page whose requests are recorded; a screenshot of it is saved after the test and named."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    yield page
    screenshot = tmp_path / "screenshot.png"
    page.screenshot(path=str(screenshot))
    with capsys.disabled():
        print(f"\nscreenshot: {screenshot}")
    context.close()


def _hosts(urls: list[str]) -> set[str]:
    return {urlsplit(url).scheme + "://" + (urlsplit(url).hostname or "") for url in urls}


def _open_model(page, base: str, unique_id: str) -> None:
    page.goto(f"{base}#!/model/{unique_id}")
    page.wait_for_selector(f"h1 >> text={unique_id.rsplit('.', 1)[1]}", timeout=60_000)


def _lineage(page) -> dict[str, set[str]]:
    """The lineage graph's visible nodes and edges, read from its cytoscape instance."""
    page.click(".launcher-btn")
    page.wait_for_function("() => !!document.querySelector('#cy') && !!document.querySelector('#cy')._cyreg")
    return page.evaluate(
        """() => {
            const cy = document.querySelector('#cy')._cyreg.cy;
            const visible = cy.elements().filter(e => e.visible());
            return {
                nodes: visible.nodes().map(n => n.id()),
                edges: visible.edges().map(e => e.source().id() + ' -> ' + e.target().id()),
            };
        }"""
    )


def test_lineage_graph_of_a_python_model_shows_its_parents_and_children(served_docs, page):
    _open_model(page, served_docs, CLV)

    graph = _lineage(page)

    assert set(graph["edges"]) >= {
        f"model.warehouse_elt.int_customers_rfm -> {CLV}",
        f"model.warehouse_elt.clv_model_parameters -> {CLV}",
        f"{CLV} -> model.warehouse_elt.fct_customer_value_by_country_cohort",
    }
    assert _hosts(page.requested) == {"http://127.0.0.1"}


def test_model_page_shows_the_description_and_every_column(served_docs, page, demo_env, dbt_session):
    node = dbt_session.manifest().nodes[CLV]
    _open_model(page, served_docs, CLV)

    text = page.inner_text("body")

    assert " ".join(node.description.split())[:120].replace("`", "") in " ".join(text.split())
    missing = [column for column in node.columns if column not in text]
    assert node.columns and missing == []
    assert _hosts(page.requested) == {"http://127.0.0.1"}


def test_search_finds_a_model_by_name(served_docs, page):
    page.goto(served_docs)
    page.wait_for_selector("input[placeholder='Search for models...']", timeout=60_000)

    page.fill("input[placeholder='Search for models...']", "dim_asteroids")
    result = page.locator(".search-result[href='#!/model/model.warehouse_elt.dim_asteroids']")
    result.wait_for(timeout=30_000)
    assert "dim_asteroids" in page.locator(".search-result h4 span").all_inner_texts()
    result.click()

    page.wait_for_selector("h1 >> text=dim_asteroids", timeout=30_000)
    assert page.url.endswith("#!/model/model.warehouse_elt.dim_asteroids")
    assert _hosts(page.requested) == {"http://127.0.0.1"}


def test_static_file_works_opened_from_disk(served_docs, page):
    static = Path(REPO_ROOT / "dbt_project" / "target" / "static_index.html")
    assert static.is_file()

    _open_model(page, static.as_uri(), CLV)
    graph = _lineage(page)

    assert f"model.warehouse_elt.clv_model_parameters -> {CLV}" in graph["edges"]
    assert _hosts(page.requested) == {"file://"}
