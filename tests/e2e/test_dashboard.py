"""The dashboard in a real browser (Debian's headless Chromium, driven by selenium): ask for
the key, submit an article, watch the three analyses arrive, and check that the highlighted
summary sentences are exactly the job's offsets. A screenshot is saved beside the stack's
logs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import KEYS
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from copydesk.client import Client

ARTICLE = (
    "Storm closes three ports on the east coast\n\n"
    "A powerful storm forced the closure of three ports on Monday, stranding dozens of ships. "
    "Officials said the winds were the strongest recorded in a decade. "
    "Shipping companies warned of delays of up to a week, and fuel prices rose sharply.\n\n"
    "Rescue teams evacuated two fishing villages overnight. No deaths were reported, but "
    "several homes were badly damaged. The government promised emergency funds for repairs."
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    os.environ["SE_OFFLINE"] = "true"  # selenium never downloads a browser or a driver
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    profile = tmp_path_factory.mktemp("chromium")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1400,1800",
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def test_the_dashboard_shows_an_articles_analyses_live(stack, browser) -> None:  # noqa: ANN001
    wait = WebDriverWait(browser, 60)
    browser.get(stack.base_url + "/")
    key_panel = browser.find_element(By.ID, "key-panel")
    wait.until(lambda _: key_panel.is_displayed())  # keys are on: it asks for one
    browser.find_element(By.ID, "api-key").send_keys(KEYS["alice"])
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
    browser.find_element(By.ID, "article").send_keys(ARTICLE)
    browser.find_element(By.ID, "analyse").click()
    result = browser.find_element(By.ID, "result")
    wait.until(lambda _: result.get_attribute("data-status") == "succeeded")

    job = Client(stack.base_url, api_key=KEYS["alice"]).get(result.get_attribute("data-job"))
    summary = sorted(job["results"]["summary"]["sentences"], key=lambda s: s["start"])
    marks = browser.find_elements(By.CSS_SELECTOR, "#text mark.summary")
    shown = [
        (int(m.get_attribute("data-start")), int(m.get_attribute("data-end")), m.text)
        for m in marks
    ]
    expected = [(s["start"], s["end"], " ".join(s["text"].split())) for s in summary]
    assert [(a, b, " ".join(t.split())) for a, b, t in shown] == expected
    coloured = browser.find_elements(By.CSS_SELECTOR, "#text .sentence[title^='sentiment']")
    assert len(coloured) == len(job["results"]["sentiment"]["sentences"])
    assert all(
        "hsla" in c.get_attribute("style") or "rgba" in c.get_attribute("style") for c in coloured
    )
    bars = browser.find_elements(By.CSS_SELECTOR, "#topics li.topic .bar")
    assert len(bars) == len(job["results"]["topics"]["labels"]) >= 1
    label = browser.find_element(By.ID, "sentiment").text
    assert job["results"]["sentiment"]["label"] in label
    wait.until(lambda _: browser.find_elements(By.CSS_SELECTOR, "#jobs li"))
    wait.until(lambda _: "dispatchers" in browser.find_element(By.ID, "workers").text)

    screenshot = Path(stack.log_dir) / "dashboard.png"
    browser.find_element(By.ID, "result").screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
    print(f"dashboard screenshot: {screenshot}")


def test_the_dashboards_live_view_shows_each_event_as_it_happens(stack, browser) -> None:  # noqa: ANN001
    """The live view follows the job's event stream and nothing else: for an article whose
    prepare takes seconds, job.queued shows while the job still runs (events used to arrive
    all at once when the job ended, and a final read of the job filled the results in)."""
    wait = WebDriverWait(browser, 90)
    client = Client(stack.base_url, api_key=KEYS["alice"])
    browser.get(stack.base_url + "/")
    browser.execute_script(
        "sessionStorage.setItem('copydesk-api-key', arguments[0])", KEYS["alice"]
    )
    browser.refresh()  # as after the key form: the key is kept in the tab
    article = browser.find_element(By.ID, "article")
    browser.execute_script("arguments[0].value = arguments[1]", article, long_story(2900))
    browser.find_element(By.ID, "analyse").click()
    result = browser.find_element(By.ID, "result")

    def shown() -> list[str]:
        items = browser.find_elements(By.CSS_SELECTOR, "#events li")
        return [item.get_attribute("data-type") for item in items]

    wait.until(lambda _: "job.queued" in shown())
    status_then = client.get(result.get_attribute("data-job"))["status"]
    wait.until(lambda _: result.get_attribute("data-status"))
    assert status_then not in ("succeeded", "partially_succeeded", "failed", "cancelled")
    assert result.get_attribute("data-status") == "succeeded"
    kinds = shown()
    assert kinds[0] == "job.queued" and kinds[-1] == "job.succeeded"
    assert kinds.count("analysis.completed") == 3
    assert result.get_attribute("data-stream-errors") is None
    assert browser.find_elements(By.CSS_SELECTOR, "#text mark.summary")  # from the events


def long_story(sentences: int) -> str:
    """An article whose prepare takes seconds: ``sentences`` distinct sentences."""
    places = ["the port", "the airport", "the border", "the capital", "the coast", "the valley"]
    events = ["reopened", "closed again", "was flooded", "saw protests", "welcomed ships"]
    lines = [
        f"Officials said {places[i % 6]} {events[i % 5]} on day {i} of the crisis."
        for i in range(sentences)
    ]
    return "\n\n".join(" ".join(lines[i : i + 6]) for i in range(0, sentences, 6))
