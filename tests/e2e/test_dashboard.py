"""The dashboard in a real browser (Debian's headless Chromium, driven by selenium): ask for
the key, submit an article, watch its analyses arrive, and check that the highlighted summary
sentences, entity mentions and quotes are exactly the job's offsets, emoji before them or
not; the desk shows the day's stories and entities from the archive (the stack runs with
it on). Screenshots are saved beside the stack's logs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from conftest import KEYS, STACK_ENV
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from copydesk.client import Client
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

ARTICLE = (
    "Storm closes three ports on the east coast\n\n"
    "A powerful storm forced the closure of three ports on Monday, stranding dozens of ships. "
    "Officials said the winds were the strongest recorded in a decade. "
    "Shipping companies warned of delays of up to a week, and fuel prices rose sharply.\n\n"
    "Rescue teams evacuated two fishing villages overnight. No deaths were reported, but "
    "several homes were badly damaged. The government promised emergency funds for repairs."
)
# Seed-like, with astral characters (two UTF-16 units each in JavaScript, one code point in
# the job's offsets) before the entities and the quote the test looks for.
TITLE = "Chechen commander vows to revenge Russia 🔥"
SEED_LIKE = (
    "When the Islamic State commander known as “Omar the Chechen” called to tell his father "
    "they’d routed the Iraqi army and taken the city of Mosul 🏙️, he added a stark message: "
    "Russia would be next, Bloomberg reports.\n\n"
    "“He said ‘don’t worry dad 🙏, I’ll come home and show the Russians’,” Temur Batirashvili "
    "said from his home in Georgia’s Pankisi Gorge, on the border with the Russian region of "
    "Chechnya. “I have many thousands following me now and I’ll get more. We’ll have our "
    "revenge against Russia.”\n\n"
    "Tarkhan Batirashvili now known as Omar al-Shishani is a leader of the forces fighting for "
    "an Islamic caliphate in Syria and Iraq. Among them are dozens of youths from Pankisi who, "
    "disaffected by a lack of jobs, have followed the call to jihad, the report says.\n\n"
    "Readers posted <img src=x onerror='window.pwned=1'> under the story on Monday."
)  # the last line is markup only if the page lets article text become markup
TYPES = {"person", "organisation", "place", "event", "product", "other"}


@pytest.fixture(scope="module")
def stack(start_archived_stack: Callable[..., Stack]) -> Stack:
    """The e2e stack as conftest's, with the archive on: the desk reads stories and entities."""
    return start_archived_stack("desk", STACK_ENV)


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
    # /metrics needs the scraper's key, which a tenant's is not: no made-up rate of 0
    workers = browser.find_element(By.ID, "workers").text
    assert "per minute: not shown (/metrics is closed" in workers, workers

    screenshot = Path(stack.log_dir) / "dashboard.png"
    browser.find_element(By.ID, "result").screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
    print(f"dashboard screenshot: {screenshot}")


def test_the_dashboard_shows_entities_by_type_and_quotes_with_their_speakers(
    stack, browser
) -> None:  # noqa: ANN001
    """Issue 18, acceptance 5: entities highlighted in the text, coloured by type, with their
    sentiment; key phrases; quotes with their speakers. Every highlight's text is the job's
    /text sliced at its code-point offsets, though emoji stand before them."""
    wait = WebDriverWait(browser, 90)
    client = Client(stack.base_url, api_key=KEYS["alice"])
    browser.get(stack.base_url + "/")
    browser.execute_script(
        "sessionStorage.setItem('copydesk-api-key', arguments[0])", KEYS["alice"]
    )
    browser.refresh()
    # chromedriver types only the Basic Multilingual Plane: set the values as a paste would
    for field, value in (("title", TITLE), ("article", SEED_LIKE)):
        element = browser.find_element(By.ID, field)
        browser.execute_script("arguments[0].value = arguments[1]", element, value)
    boxes = browser.find_elements(By.CSS_SELECTOR, "#analyses input[type=checkbox]")
    assert {b.get_attribute("value") for b in boxes if b.is_selected()} >= {
        "entities", "keyphrases", "quotes"
    }  # fmt: skip
    browser.find_element(By.ID, "analyse").click()
    result = browser.find_element(By.ID, "result")
    wait.until(lambda _: result.get_attribute("data-status"))
    assert result.get_attribute("data-status") == "succeeded"
    job_id = result.get_attribute("data-job")
    job, text = client.get(job_id), client.text(job_id)
    assert sorted(job["analyses"]) == sorted(
        ["summary", "sentiment", "topics", "entities", "keyphrases", "quotes"]
    )

    marks = browser.find_elements(By.CSS_SELECTOR, "#text mark.entity")
    shown = [
        (
            int(m.get_attribute("data-start")),
            int(m.get_attribute("data-end")),
            m.get_attribute("textContent"),
            m.get_attribute("data-type"),
            m.get_attribute("data-entity"),
        )
        for m in marks
    ]
    expected = sorted(
        (m["start"], m["end"], m["text"], e["type"], e["name"])
        for e in job["results"]["entities"]["entities"]
        for m in e["mentions"]
    )
    assert shown == expected  # every mention, at its offsets, with its entity's type
    assert all(text[start:end] == shown_text for start, end, shown_text, *_ in shown)
    [temur] = [
        mark for mark, item in zip(marks, shown, strict=True) if item[4] == "Temur Batirashvili"
    ]
    start = int(temur.get_attribute("data-start"))
    assert temur.get_attribute("textContent") == "Temur Batirashvili"
    assert temur.get_attribute("data-type") == "person"
    assert sum(ord(c) > 0xFFFF for c in text[:start]) >= 2  # emoji before it: offsets held
    assert "salience" in temur.get_attribute("title") and "sentiment" in temur.get_attribute(
        "title"
    )

    def colour_of(element) -> str:  # noqa: ANN001
        return element.value_of_css_property("border-bottom-color")

    places = [mark for mark, item in zip(marks, shown, strict=True) if item[3] == "place"]
    legend = browser.find_element(By.CSS_SELECTOR, "#legend [data-type=person]")
    assert places and colour_of(temur) == colour_of(legend) != colour_of(places[0])

    rows = browser.find_elements(By.CSS_SELECTOR, "#entities tr.entity")
    assert [r.get_attribute("data-name") for r in rows] == [
        e["name"] for e in job["results"]["entities"]["entities"]
    ]
    row = next(r for r in rows if r.get_attribute("data-name") == "Temur Batirashvili")
    entity = next(
        e for e in job["results"]["entities"]["entities"] if e["name"] == "Temur Batirashvili"
    )
    assert entity["sentiment"]["label"] in row.find_element(By.CSS_SELECTOR, ".feeling").text

    quotes = job["results"]["quotes"]["quotes"]
    items = browser.find_elements(By.CSS_SELECTOR, "#quotes li.quote")
    assert [int(i.get_attribute("data-start")) for i in items] == [q["start"] for q in quotes]
    said = [
        (
            i.find_element(By.CSS_SELECTOR, ".speaker").text,
            i.find_element(By.CSS_SELECTOR, ".cue").text,
        )
        for i in items
        if "don’t worry dad" in i.find_element(By.CSS_SELECTOR, ".quote-text").text
    ]
    assert said == [("Temur Batirashvili", "said")]
    assert all(
        i.find_element(By.CSS_SELECTOR, ".speaker").text
        == (q["speaker"]["name"] if q["speaker"] else "unattributed")
        for i, q in zip(items, quotes, strict=True)
    )
    in_text = browser.find_elements(By.CSS_SELECTOR, "#text .quote")
    assert "Temur Batirashvili" in {piece.get_attribute("data-speaker") for piece in in_text}
    phrases = browser.find_elements(By.CSS_SELECTOR, "#keyphrases li.keyphrase")
    assert len(phrases) == len(job["results"]["keyphrases"]["keyphrases"]) >= 1
    summary = browser.find_elements(By.CSS_SELECTOR, "#text mark.summary")
    assert len(summary) == len(job["results"]["summary"]["sentences"])  # still whole sentences
    assert "<img src=x onerror='window.pwned=1'>" in browser.find_element(By.ID, "text").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#result img")
    assert browser.execute_script("return window.pwned") is None

    screenshot = Path(stack.log_dir) / "dashboard-entities.png"
    browser.find_element(By.ID, "result").screenshot(str(screenshot))
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
    browser.execute_script(  # the first three analyses: their events alone
        "for (const box of document.querySelectorAll('#analyses input'))"
        " box.checked = ['summary', 'sentiment', 'topics'].includes(box.value)"
    )
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


def test_the_desk_shows_todays_story_and_entities_of_two_near_copies(stack, browser) -> None:  # noqa: ANN001
    """Two near-copies of one wire story asked for stories and entities: the desk lists their
    story (size 2, the representative's title) and an entity of the day, as text only."""
    client = Client(stack.base_url, api_key=KEYS["alice"])
    title = "Storm closes three ports <b>east</b>"
    copies = [ARTICLE, ARTICLE.replace("Rescue teams", "Emergency teams") + " Officials said "
              "the ports would reopen on Thursday."]  # fmt: skip
    jobs = [
        client.submit({"text": text, "title": title}, analyses=["stories", "entities"])["id"]
        for text in copies
    ]
    finished = [client.wait(job_id, timeout=300) for job_id in jobs]
    assert [job["status"] for job in finished] == ["succeeded", "succeeded"], finished
    story_id = finished[1]["results"]["stories"]["story"]["id"]
    assert finished[0]["results"]["stories"]["story"]["id"] == story_id

    wait = WebDriverWait(browser, 120)
    browser.get(stack.base_url + "/")
    browser.execute_script(
        "sessionStorage.setItem('copydesk-api-key', arguments[0])", KEYS["alice"]
    )
    browser.refresh()

    def story_shown() -> object:
        items = browser.find_elements(By.CSS_SELECTOR, "#stories li.story")
        return next((i for i in items if i.get_attribute("data-story") == story_id), None)

    story = wait.until(lambda _: story_shown())
    assert story.get_attribute("data-size") == "2"
    assert title in story.find_element(By.CSS_SELECTOR, ".what").text  # markup shown as text
    assert not browser.find_elements(By.CSS_SELECTOR, "#stories b")
    assert "last seen" in story.text
    archived = wait_for(
        lambda: (
            requests.get(
                f"{stack.base_url}/v1/entities?limit=100",
                headers={"Authorization": f"Bearer {KEYS['alice']}"},
                timeout=10,
            ).json()["entities"]
            or None
        ),
        timeout=120,
        every=0.5,
    )  # the archive has the articles' entities
    names = {e["name"] for e in archived}
    wait.until(
        lambda _: (
            {
                i.get_attribute("data-name")
                for i in browser.find_elements(By.CSS_SELECTOR, "#top-entities li.top-entity")
            }
            & names
        )
    )
    assert browser.find_element(By.ID, "fired").text  # no alert: says none fired
    screenshot = Path(stack.log_dir) / "dashboard-desk.png"
    browser.find_element(By.ID, "desk").screenshot(str(screenshot))
    print(f"dashboard screenshot: {screenshot}")
