"""The agent console in a real browser (Debian's Chromium, driven by Selenium): an agent signs
in and goes available, a caller verified by the real assistant is dispatched by an RQ worker,
the screen pop shows the reason and the verification, and the wrap-up is saved."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from app.bootstrap import Services
from app.queue_service import AgentState
from app.worker import AppWorker
from standin import HttpTransport, SimulatedTwilio
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLS_URL, PUBLIC_BASE_URL, SUPPORT_NUMBER
from tests.loopback import serving
from tests.sids import without_sids
from tests.test_assistant_with_rasa import MARIA, verify_by_pin
from tests.test_handoff import agent_leg, dial_result, redirected_to, says

# Bounded waits for the page to catch up (it polls every 2 s); not a speed requirement.
PAGE_WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("Chromium is not installed (scripts/test installs chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        # No internet here: without these Chromium keeps trying Google's services.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    yield chrome
    chrome.quit()


@pytest.fixture
def console_url(rasa_app: Flask) -> Iterator[str]:
    with serving(rasa_app) as url:
        yield url


def state_is(state: str) -> Callable[[webdriver.Chrome], bool]:
    """The console shows the agent in `state`. Read in one script: the page re-renders as it
    polls, and an element found a moment earlier may be gone by the time it is read."""

    def shown(driver: webdriver.Chrome) -> bool:
        script = "const e = document.getElementById('state'); return e && e.dataset.state;"
        return bool(driver.execute_script(script) == state)

    return shown


def test_an_agent_takes_a_verified_caller_in_the_browser_and_wraps_up(
    browser: webdriver.Chrome,
    console_url: str,
    rasa_app: Flask,
    tmp_path: Path,
) -> None:
    services: Services = rasa_app.extensions["queue_assistant"]
    support = services.config.queue_named("support")
    wait = WebDriverWait(browser, PAGE_WAIT_SECONDS)

    browser.get(f"{console_url}/agent/sign-in")
    browser.find_element(By.NAME, "agent_id").send_keys("alice")
    browser.find_element(By.NAME, "password").send_keys("alice-demo-password")
    browser.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
    wait.until(ec.element_to_be_clickable((By.ID, "go-available"))).click()
    wait.until(state_is("available"))
    assert services.queue.agent(support, "alice").state is AgentState.available

    twilio = SimulatedTwilio(HttpTransport(console_url), PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rest:
        rest.add_passthru("http://127.0.0.1")  # the app itself, Rasa
        rest.post(CALLS_URL, json={"sid": "CA" + "0" * 32, "status": "in-progress"})
        # A caller from a number the assistant cannot match, so it must verify them.
        call = twilio.dial("+14155550177", SUPPORT_NUMBER)
        call.say("i have a question about my bill")
        call.say("yes please")
        verify_by_pin(call, MARIA["account"], MARIA["pin"])

        # The worker: the jobs enqueued when the agent went available and the caller came.
        worker = AppWorker([services.jobs.rq_queue], connection=services.redis, app=rasa_app)
        assert worker.work(burst=True)
        connect_url = redirected_to(rest)[call.sid]
    twilio.close()

    # Twilio runs the connect document; the agent's phone answers and hears the whisper.
    status, _ = twilio.post(connect_url, call.base_params())
    assert status == 200
    _, whisper = twilio.post("/voice/whisper?agent=alice", agent_leg(call, "client:alice"))
    assert says(whisper)[:2] == [
        "Verified caller, Maria Garcia.",
        "Calling about a billing question.",
    ]

    wait.until(ec.text_to_be_present_in_element((By.ID, "verification"), "Verified by pin"))
    pop = browser.find_element(By.CSS_SELECTOR, ".screen-pop")
    assert "Maria Garcia" in pop.find_element(By.TAG_NAME, "h2").text
    reason = pop.find_element(By.ID, "reason")
    assert (reason.text, reason.get_attribute("data-reason")) == ("A billing question", "billing")
    assert "question about my bill" in pop.find_element(By.CLASS_NAME, "transcript").text
    assert MARIA["pin"] not in without_sids(browser.page_source)
    wait.until(state_is("on_call"))

    twilio.post("/voice/dial-result?agent=alice", dial_result(call, "completed"))
    call.hang_up()
    # The screen pop is rendered again when the state moves on: fill in the one of wrap-up.
    wait.until(state_is("wrap_up"))
    wrap_up = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "form.wrap-up")))
    Select(wrap_up.find_element(By.NAME, "disposition")).select_by_value("resolved")
    wrap_up.find_element(By.NAME, "notes").send_keys("Explained the late fee; waived it.")
    browser.save_screenshot(str(tmp_path / "wrap-up.png"))
    # Found afresh: a poll may have rendered the pop again meanwhile (what was entered stays).
    browser.find_element(By.CSS_SELECTOR, "form.wrap-up button").click()

    wait.until(state_is("available"))
    contact = services.history.contact(call.sid)
    assert contact.wrap_up.disposition == "resolved"
    assert contact.wrap_up.notes == "Explained the late fee; waived it."
    assert contact.call.account == MARIA["account"]
