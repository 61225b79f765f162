"""The HTML report in a real headless browser: it renders, every picture loads, and it
asks for nothing outside the file. Needs Debian's chromium and chromium-driver
(scripts/test.sh installs both); in CI a missing browser fails the test."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from comfyserver import NODE_ERROR_MARK, ComfyServer
from comfyserver.project import write_cases
from imagebuilder.cli import main
from imagebuilder.errors import ExitCode

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and DRIVER):
        message = "needs chromium and chromium-driver: apt-get install chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_report_renders_with_every_picture_and_nothing_outside(
    project: Path, comfy: ComfyServer, browser: webdriver.Chrome, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(
        project.parent,
        {"fine": "make it <b>red</b>", "crash": f"{NODE_ERROR_MARK} <script>x</script>"},
        two_images="pair",
    )
    report = project.parent / "report.html"
    args = ["test", "-c", str(project), "--target", comfy.url, "--cases", str(cases)]
    code = main([*args, "--report", str(report), "--no-warmup", "--poll-interval", "0.01"])
    assert code == ExitCode.TEST_FAILED  # the crash case fails, and is shown
    capsys.readouterr()
    html = report.read_text(encoding="utf-8")
    # Nothing in the file refers to anything it would fetch: only data: pictures, no
    # scripts, styles sheets, frames or CSS urls (the target's URL appears as text only).
    refs = r"""(?:src|href|srcset|action|poster|data)=["'](?!data:image/(jpeg|png);base64,)"""
    assert re.findall(refs, html) == []
    assert not re.search(r"url\(|<script|<link|<iframe|<object|<embed|@import", html)

    browser.get(report.as_uri())
    assert browser.title == "imagebuilder test: FAILED"
    images = browser.find_elements(By.TAG_NAME, "img")
    # inputs (1 + 1 + 2) + outputs (3 + 3 + 0) + differences (2 + 2 + 0) + zoomed crops,
    # baseline and variant, where each variant differs most (2 x (2 + 2 + 0))
    assert len(images) == 4 + 6 + 4 + 8
    widths = browser.execute_script(
        "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
    )
    assert all(width > 0 for width in widths), widths
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:'))"
    )
    assert fetched == []
    rows = browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[0].text for row in rows] == [
        "steps4 (baseline)",
        "steps3",
        "steps2",
    ]
    failed = browser.find_elements(By.CSS_SELECTOR, "#case-crash .failed")
    assert len(failed) == 3 and "node_error" in failed[0].text
    prompt = browser.find_element(By.CSS_SELECTOR, "#case-fine q").text
    assert prompt == "make it <b>red</b>"  # shown as text, never as markup
    assert browser.find_elements(By.CSS_SELECTOR, "#case-fine b")[0].text == "steps4"
    _the_decision_comes_first(browser)
    _a_click_shows_full_size(browser)
    zooms = browser.find_elements(By.CSS_SELECTOR, "#case-fine figure.zoomed")
    assert len(zooms) == 2 and "largest difference: 48 px at (" in zooms[0].text


def _the_decision_comes_first(browser: webdriver.Chrome) -> None:
    """Right under the title: what to ship, then the thresholds it was decided with (the
    defaults here: the run set none)."""
    first, second = browser.find_elements(By.CSS_SELECTOR, "h1 ~ p")[:2]
    assert first.get_attribute("id") == "recommendation"
    assert first.text.startswith("Recommendation: ")
    assert second.get_attribute("id") == "thresholds"
    assert "SSIM >= 0.9 (default) and PSNR >= 25 dB (default) in every case" in second.text


def _a_click_shows_full_size(browser: webdriver.Chrome) -> None:
    browser.set_window_size(1800, 1600)
    picture = browser.find_element(By.CSS_SELECTOR, "#case-fine .variant img")
    natural = browser.execute_script("return arguments[0].naturalWidth", picture)
    shown = browser.execute_script("return arguments[0].clientWidth", picture)
    assert shown == 320  # the grid's preview size
    picture.click()
    shown = browser.execute_script("return arguments[0].clientWidth", picture)
    assert shown == natural
    picture.click()
    shown = browser.execute_script("return arguments[0].clientWidth", picture)
    assert shown == 320
