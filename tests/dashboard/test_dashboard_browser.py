"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) against ``agentstate dashboard`` serving a seeded fleet.

It finds the dead letter, clicks Retry and sees the task pending; the live feed shows a change
made by another process while the page is open. A screenshot of every page is kept in
``$AGENTSTATE_ARTIFACTS/dashboard`` (``.ci/run`` sets it to ``artifacts/``, git-ignored), else
under pytest's tmp path. Without Chromium these tests skip and say so.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no Chromium here: apt-get install chromium chromium-driver to run the browser tests",
)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed ([dev] extra)")
pytest.importorskip("starlette", reason="the dashboard needs the [dashboard] extra")

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from ..agentstate_process import start_dashboard  # noqa: E402
from ..dashboard_fleet import Seeded  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30  # seconds: an upper bound for liveness on a loaded machine, not a speed target
# a page replaced while a wait reads it (the POST's redirect, the live refresh) is read again, not a failure


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("AGENTSTATE_ARTIFACTS")
    where = Path(base) / "dashboard" if base else tmp_path_factory.mktemp("dashboard-screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def served(redis_url: str) -> Iterator[tuple[str, str]]:
    """``agentstate dashboard`` on a fleet seeded under a fresh prefix: (base URL, prefix)."""
    prefix = f"dash-browser-{os.getpid()}-{time.time_ns()}:"
    subprocess.run(
        [sys.executable, "-m", "tests.dashboard_fleet", redis_url, prefix], cwd=ROOT, check=True, timeout=120
    )
    proc = start_dashboard(redis_url, prefix, "--team", "alpha", "--team", "beta", cwd=ROOT)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        first = lines.get(timeout=WAIT)
    except queue.Empty:
        proc.kill()
        pytest.fail(
            f"agentstate dashboard printed nothing within {WAIT} s: {proc.stderr.read() if proc.stderr else ''}"
        )
    assert first.startswith("agentstate dashboard: http://127.0.0.1:"), first
    url = first.split()[2].rstrip("/")
    try:
        yield url, prefix
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def heading(driver: Any) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def test_every_page_opens_in_a_real_browser(served: tuple[str, str], browser: Any, artifacts: Path) -> None:
    """Each page loads with its heading and content (no server error), and is kept as a screenshot."""
    url, _ = served
    s = Seeded()
    pages = [
        ("overview", "/", "Overview", "alpha"),
        ("team", "/team?team=alpha", "Team alpha", s.running_task),
        ("task", f"/task?team=alpha&task={s.running_task}", f"Task {s.running_task}", s.worker),
        ("dead-letters", "/dead?team=alpha", "Dead letters of alpha", s.dead_task),
        ("agents", "/agents", "Agents", s.worker),
        ("agent", f"/agent?agent={s.worker}&team=alpha", f"Agent {s.worker}", "denied"),
        ("workflows", "/workflows", "Workflows", "wf-running"),
        ("workflow", "/workflow?workflow=wf-running", "Workflow wf-running", "step 2"),
        ("tools", "/tools", "Tools", "exec-2"),
        ("events", "/events", "Live events", "kind"),
    ]
    for name, path, title, text in pages:
        browser.get(url + path)
        assert heading(browser) == title, path
        assert text in browser.find_element(By.TAG_NAME, "main").text, (path, text)
        browser.save_screenshot(str(artifacts / f"{name}.png"))
    assert len(list(artifacts.glob("*.png"))) >= len(pages)


def waiting(browser: Any) -> WebDriverWait:
    """A wait that reads a replaced page again instead of failing on its stale elements."""
    return WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,))


def test_clicking_retry_on_a_dead_letter_puts_the_task_back_in_pending(
    served: tuple[str, str], browser: Any, artifacts: Path
) -> None:
    url, _ = served
    s = Seeded()
    browser.get(url + "/dead?team=alpha")
    buttons = [
        b for b in browser.find_elements(By.CSS_SELECTOR, "button.retry") if b.get_attribute("data-task") == s.dead_task
    ]
    assert len(buttons) == 1, "the dead letter's Retry button"
    buttons[0].click()
    waiting(browser).until(lambda d: "1 dead letter retried" in d.find_element(By.TAG_NAME, "main").text)
    assert s.dead_task not in browser.find_element(By.TAG_NAME, "main").text  # no longer dead
    browser.save_screenshot(str(artifacts / "dead-letters-after-retry.png"))
    browser.get(url + "/team?team=alpha&queue=pending")
    assert s.dead_task in browser.find_element(By.TAG_NAME, "main").text
    link = [a for a in browser.find_elements(By.CSS_SELECTOR, "main table a") if a.text == s.dead_task]
    link[0].click()
    waiting(browser).until(lambda d: heading(d) == f"Task {s.dead_task}")
    assert browser.find_element(By.ID, "task-status").text == "pending"
    browser.save_screenshot(str(artifacts / "task-pending-after-retry.png"))


def test_the_live_feed_shows_a_change_made_by_another_process(
    served: tuple[str, str], browser: Any, redis_url: str, artifacts: Path
) -> None:
    url, prefix = served
    browser.get(url + "/events")
    waiting(browser).until(lambda d: d.find_element(By.ID, "feed-state").get_attribute("data-live") == "1")
    code = (
        "import sys; from agentstate_redis.sync import OrchestrationStateManager as O; "
        "o = O(persistence='redis', redis_url=sys.argv[1], key_prefix=sys.argv[2]); "
        "o.enqueue_task('beta', {'id': 'live-feed-task'}); o.close()"
    )
    subprocess.run([sys.executable, "-c", code, redis_url, prefix], check=True, timeout=60, cwd=ROOT)

    def fresh_enqueue(d: Any) -> bool:
        rows = d.find_elements(By.CSS_SELECTOR, "#feed tbody tr.fresh")
        return any("beta" in r.text and "enqueue" in r.text for r in rows)

    waiting(browser).until(fresh_enqueue)
    browser.save_screenshot(str(artifacts / "events-live.png"))
