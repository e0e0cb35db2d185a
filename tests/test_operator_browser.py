"""The operator page in a real browser (Debian's Chromium): a supervisor watches today's
figures and charts change as calls end, without the page reloading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from standin import HttpTransport, SimulatedTwilio
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, SUPPORT_NUMBER, Clock
from tests.loopback import serving
from tests.test_agent_browser import PAGE_WAIT_SECONDS, browser

__all__ = ["browser"]  # the module's Chromium, shared with the agent console's tests


@pytest.fixture
def page_url(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def shown(driver: webdriver.Chrome, selector: str) -> str:
    """An element's text, read in one script (the live part is replaced as it polls)."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';"
    return str(driver.execute_script(script, selector)).strip()


def test_the_operator_page_updates_its_figures_without_a_reload(
    browser: webdriver.Chrome, page_url: str, clock: Clock, tmp_path: Path
) -> None:
    wait = WebDriverWait(browser, PAGE_WAIT_SECONDS)
    browser.get(f"{page_url}/agent/sign-in")
    browser.find_element(By.NAME, "agent_id").send_keys("carol")
    browser.find_element(By.NAME, "password").send_keys("carol-demo-password")
    browser.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
    # Signed in once the console is up: opening the page sooner races the sign-in.
    wait.until(ec.presence_of_element_located((By.ID, "state-panel")))
    browser.get(f"{page_url}/operator/")
    assert shown(browser, "#today-support .fig-calls") == "0"
    # Marks this page load: a reload would lose it.
    browser.execute_script("window.sameLoad = true;")

    twilio = SimulatedTwilio(HttpTransport(page_url), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)
    try:
        waiting = twilio.dial("+14155550111", SUPPORT_NUMBER)
        wait.until(lambda d: shown(d, "#today-support .fig-waiting") == "1")
        gone = twilio.dial("+14155550112", SUPPORT_NUMBER)
        clock.advance(45)
        gone.hang_up()
        wait.until(lambda d: shown(d, "#today-support .fig-calls") == "1")
        assert shown(browser, "#today-support .fig-abandoned").startswith("1 (100% of calls)")
        assert shown(browser, "#today-support .fig-longest-wait") == "45 s"
        assert browser.find_elements(By.CSS_SELECTOR, "#chart-calls rect.bar-abandoned")
        assert browser.execute_script("return window.sameLoad === true;")
        browser.save_screenshot(str(tmp_path / "operator.png"))
        waiting.hang_up()
    finally:
        twilio.close()
