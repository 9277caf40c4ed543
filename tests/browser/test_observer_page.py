"""The observer's page in a real browser: headless Chromium driven by Selenium.

Debian's ``chromium`` and ``chromium-driver`` packages provide the browser and its driver
(``.ci/run`` installs them when they are missing). Selenium's calls block, so each runs in a
thread while the test's event loop goes on serving the page.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import otpy
from otpy import GenServer, NoReply, Ok, Reply, Supervisor
from otpy.observer import Observer, observer_url

from ..otpy.support import wait_down

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
#: The guard on each wait in the browser.
BROWSER_GUARD = 20.0

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="the browser test needs Chromium and its driver: on Debian or Ubuntu, "
        "`sudo apt-get install chromium chromium-driver` (CI installs them)",
    ),
    pytest.mark.timeout(90),
]


class Worker(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(0)

    async def handle_cast(self, request: Any, state: int) -> NoReply:
        if request == "crash":
            raise RuntimeError("crashed on purpose by the browser test")
        return NoReply(state + 1)

    async def handle_call(self, request: Any, from_: otpy.From, state: int) -> Reply:
        return Reply(state, state)


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--disable-gpu"):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(str(DRIVER)))


async def _in_browser(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def _until(driver: Any, what: str, cond: Callable[[Any], Any]) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    # the page redraws its tree when it changes: a row found a moment ago may have been replaced
    wait = WebDriverWait(driver, BROWSER_GUARD, ignored_exceptions=[StaleElementReferenceException])
    try:
        return wait.until(cond)
    except TimeoutException:
        raise AssertionError(f"the page never showed {what}") from None


def _worker_row(driver: Any) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, '#trees .node[data-id="worker"]')


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    driver = await _in_browser(_driver)
    try:
        yield driver
    finally:
        await _in_browser(driver.quit)


async def _start_tree() -> otpy.Pid:
    # started by the test itself: a supervisor linked to a fixture's task would shut down when
    # that task ends (its parent exited)
    sup = await Supervisor.start_link(
        [
            Worker.child_spec(None, id="worker", name="worker"),
            Worker.child_spec(None, id="bystander"),
            Observer.child_spec(port=0, print_url=False),
        ],
        strategy="one_for_one",
        max_restarts=10,
    )
    assert sup is not None
    return sup


def _png_size_and_colours(png: bytes) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values its pixel data has."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(data)))


async def test_the_page_draws_the_tree_shows_a_restart_and_restarts_a_child(
    browser: Any, tmp_path: Path
) -> None:
    tree = await _start_tree()
    try:
        await _walk_through(browser, tree, tmp_path)
    finally:
        otpy.unlink(tree)
        await otpy.stop(tree)


async def _walk_through(browser: Any, tree: otpy.Pid, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    url = await observer_url()
    await _in_browser(browser.get, url)

    # the tree is drawn: the supervisor, its three children, each with its restart count
    await _in_browser(
        _until, browser, "the worker with 0 restarts",
        lambda d: "restarts 0" in _worker_row(d).text,
    )  # fmt: skip
    nodes = await _in_browser(browser.find_elements, By.CSS_SELECTOR, "#trees .node")
    ids = [await _in_browser(n.get_attribute, "data-id") for n in nodes]
    assert ids == [None, "worker", "bystander", "observer"]
    assert all([await _in_browser(n.is_displayed) for n in nodes])

    # a crash caused from here: the page sees the restart count go up, highlighted
    old = otpy.whereis("worker")
    assert old is not None
    ref = otpy.monitor(old)
    otpy.cast("worker", "crash")
    down = await wait_down(ref)
    assert isinstance(down.reason, RuntimeError)

    def restarted(d: Any) -> bool:
        row = _worker_row(d)
        return (
            "restarts 1" in row.text
            and "running" in row.text
            and row.get_attribute("data-pid") not in (None, repr(old))
            and "restarted" in row.get_attribute("class")
        )

    await _in_browser(_until, browser, "the worker restarted (new pid, highlighted)", restarted)
    new = otpy.whereis("worker")
    assert new is not None and new != old
    assert await _in_browser(
        _until, browser, "the new pid", lambda d: _worker_row(d).get_attribute("data-pid")
    ) == repr(new)

    # a screenshot of the page, and of the tree alone: drawn, not blank
    shot = tmp_path / "observer.png"
    assert await _in_browser(browser.save_screenshot, str(shot))
    width, height, colours = _png_size_and_colours(shot.read_bytes())
    assert width > 600 and height > 400, (width, height)
    trees = await _in_browser(browser.find_element, By.ID, "trees")
    tree_png = await _in_browser(lambda: trees.screenshot_as_png)
    t_width, t_height, t_colours = _png_size_and_colours(tree_png)
    assert t_width > 300 and t_height > 60, (t_width, t_height)
    assert t_colours > 20, "the tree's screenshot is blank"
    assert colours > 20

    # "restart child", confirmed in the dialog: a new pid, the supervisor still up
    before = otpy.whereis("worker")

    def click_restart(d: Any) -> bool:
        _worker_row(d).find_element(By.CSS_SELECTOR, 'button[data-action="restart"]').click()
        return True

    await _in_browser(_until, browser, "the restart button", click_restart)
    alert = await _in_browser(_until, browser, "the confirmation", lambda d: d.switch_to.alert)
    assert "restart worker" in await _in_browser(lambda: alert.text)
    await _in_browser(alert.accept)
    await _in_browser(
        _until, browser, "the restart done",
        lambda d: "restarted worker" in d.find_element(By.ID, "notice").text,
    )  # fmt: skip
    after = otpy.whereis("worker")
    assert after is not None and after != before
    await _in_browser(
        _until,
        browser,
        "the new pid",
        lambda d: _worker_row(d).get_attribute("data-pid") == repr(after),
    )
    assert otpy.is_alive(tree)

    # this test's own task used otpy (monitor): it is an external process, shown outside the
    # trees with no kill button (killing a program's main task would end the program)
    def external_row(d: Any) -> Any:
        rows = d.find_elements(By.CSS_SELECTOR, "#others .node")
        return next((r for r in rows if r.text.startswith("external")), None)

    row = await _in_browser(_until, browser, "the external process", external_row)
    assert (
        await _in_browser(lambda: row.find_elements(By.CSS_SELECTOR, 'button[data-action="kill"]'))
        == []
    )
