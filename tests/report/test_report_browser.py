"""The results pages open in headless Chromium: every section and every image renders, and the
console stays free of errors. Runs on the committed reports/*.html and on pages generated afresh
(in a temp dir) from the committed metrics and plots. Skips only when Chromium, chromedriver or
selenium are absent outside CI; in CI (CI=true) their absence fails the test."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nf2vec_core.report.pages import PAGES, arena_page, default_page, field_kinds_page, nerf_page, shape_tasks_page
from nf2vec_core.report.render import to_html

ROOT = Path(__file__).resolve().parents[2]
PROV = {"commit": "test", "date": "2026-01-01", "hardware": "test"}


def _browser_or_skip():
    missing = []
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    binary = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                               shutil.which("google-chrome")) if p), None)
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
    if binary is None:
        missing.append("chromium (apt-get install chromium)")
    if driver is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    if missing:
        reason = "headless browser test needs " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: .ci/run installs them)")
        pytest.skip(reason)
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)


@pytest.fixture(scope="module")
def browser():
    drv = _browser_or_skip()
    yield drv
    drv.quit()


def _pages():
    metrics, plots = ROOT / "metrics", ROOT / "plots"
    return {"default": default_page(metrics, plots, "shapes", PROV), "nerf": nerf_page(metrics, plots, PROV),
            "arena": arena_page(metrics, plots, ROOT / "reports", PROV),
            "shape_tasks": shape_tasks_page(metrics, plots, "shapes", PROV),
            "field_kinds": field_kinds_page(metrics, plots, ["shapes", "shapes_sdf", "shapes_udf"], "shapes_udf_to_sdf",
                                            PROV)}


def _check(browser, path: Path, page) -> None:
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(path.resolve().as_uri())
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:  # images decode asynchronously; a loaded machine may need a moment
        WebDriverWait(browser, 15).until(
            lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)"))
    except TimeoutException:
        pass  # the assertion below names the images that did not load
    headings = browser.execute_script("return Array.from(document.querySelectorAll('section > h2')).map(h => h.textContent)")
    assert headings == [s.title for s in page.sections], path
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
    expected = sum(len(s.figures) for s in page.sections)
    assert len(images) == expected and expected > 0, (path, len(images), expected)
    assert [alt for alt, ok in images if not ok] == [], path
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == [], (path, severe)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_committed_page_renders(browser, name):
    _check(browser, ROOT / "reports" / PAGES[name][0], _pages()[name])


def test_fresh_page_renders(browser, tmp_path):
    for name, page in _pages().items():
        out = tmp_path / PAGES[name][0]
        out.write_text(to_html(page))
        _check(browser, out, page)
