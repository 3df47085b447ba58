"""The web inbox in a real browser (Debian's chromium through chromedriver) against a real
`listener run` on a temporary store: sign in, answer, relabel, hostile text, another department.

Screenshots land in $LISTENER_SCREENSHOTS (default: the test's temporary folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from processes import LISTENER, wait_for_mentions
from website import ITEMS, PASSWORD, fill, write_config

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
)
SECRET = "browser-test-secret-0123456789"


def feed(items) -> bytes:
    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title></title><link>https://blog.example.org/{key}</link><guid>{key}</guid>"
        f"<dc:creator>{escape(author)}</dc:creator><pubDate>{format_datetime(now - timedelta(hours=n + 1))}</pubDate>"
        f"<description>{escape(escape(text))}</description></item>"
        for n, (key, text, author) in enumerate(items)
    )
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>blog</title><link>https://blog.example.org/</link>{entries}</channel></rss>").encode()


POLLED = [("n1", "The app crashed again and I lost my order. This is bad, really bad.", "Dag")]
"""What the daemon polls from the feed while the tests run; the rest is stored before it starts."""


def listener(config: Path, *args, stdin: str | None = None) -> str:
    result = subprocess.run([*LISTENER, "-c", str(config), *args], input=stdin, capture_output=True, text=True, check=False,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def daemon(tmp_path, server, daemons):
    server.add("/feed", body=feed(POLLED))
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'listener.db'}", 0, server.url("/feed"))
    config.write_text(config.read_text().replace("[routing]", '[scheduler]\ntick = "1s"\n\n[routing]'))
    fill(config, datetime.now(UTC), people=False)
    for name, role, departments in (("cs", "member", ["customer-service"]), ("mk", "member", ["marketing"]),
                                    ("admin", "admin", [])):
        flags = [f"--department={d}" for d in departments]
        listener(config, "users", "add", name, "--role", role, *flags, "--password-stdin", stdin=PASSWORD + "\n")
    running = daemons(config, env={"LISTENER_TEST_SECRET": SECRET})
    base = running.web_url(timeout=90)
    stored = wait_for_mentions(tmp_path / "listener.db", len(POLLED) + len(ITEMS), running, timeout=90)
    assert stored == len(POLLED) + len(ITEMS), "listener run did not store the feed within 90 s:\n" + running.output[-2000:]
    yield base, config
    assert running.stop() == 0, running.output[-2000:]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # noqa: BLE001 - a browser that cannot start is a reason to skip, said plainly
        pytest.skip(f"chromium did not start: {str(exc).splitlines()[0]}")
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("LISTENER_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(driver, base: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    settle(driver, lambda d: d.current_url == base + "/"
           and d.find_element(By.TAG_NAME, "h1").text.startswith("Inbox"))


def settle(driver, condition, timeout: float = 15):
    """Wait until `condition(driver)` holds, reading afresh each time: after a click the old page can go
    away between finding an element and reading it, and the inbox refreshes its queue by itself."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(condition)


def mention_id(config: Path, key: str) -> int:
    import json

    rows = [json.loads(line) for line in listener(config, "mentions", "--format", "json").splitlines()]
    return next(r["id"] for r in rows if r["url"].endswith("/" + key))


def test_answer_and_relabel_in_the_browser(daemon, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, config = daemon
    sign_in(browser, base, "cs")
    assert browser.current_url == base + "/"
    assert "customer-service" in browser.find_element(By.TAG_NAME, "h1").text

    def read_queue(driver):
        items = driver.find_elements(By.CSS_SELECTOR, "#queue .item")
        return items and ([i.text for i in items], items[0].get_attribute("class"),
                items[0].value_of_css_property("border-left-color"),
                items[0].find_element(By.CSS_SELECTOR, "a.open").get_attribute("href"))

    texts, first_class, first_border, top = settle(browser, read_queue)
    assert "criticism" in texts[0] and "Anna" in texts[0] and "overdue" in texts[0]
    assert "overdue" in first_class
    assert first_border == "rgba(176, 0, 32, 1)"
    assert any("Dag" in t for t in texts)  # polled by the daemon, routed to customer-service
    assert all("campaign" not in t for t in texts)  # marketing's mention is not in this inbox
    browser.save_screenshot(str(shots / "inbox.png"))
    browser.set_window_size(390, 844)
    browser.save_screenshot(str(shots / "inbox-phone.png"))
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.set_window_size(1280, 900)

    browser.get(top)
    browser.find_element(By.ID, "a-note").send_keys("answered on the blog")
    browser.find_element(By.XPATH, "//button[text()='Mark answered']").click()
    settle(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".flash").text == "Marked answered.")
    assert "answered" in browser.find_element(By.CSS_SELECTOR, ".routes").text
    assert "web" in browser.find_element(By.XPATH, "//h2[text()='Responses']/following-sibling::ul").text

    assert top.endswith(f"/mentions/{mention_id(config, 'c1')}")
    other = mention_id(config, "c2")
    browser.get(f"{base}/mentions/{other}")
    Select(browser.find_element(By.ID, "a-label")).select_by_visible_text("neutral")
    browser.find_element(By.XPATH, "//button[text()='Relabel']").click()
    settle(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".flash").text == "Labelled neutral.")
    assert "set by cs" in browser.find_element(By.XPATH, "//h2[text()='Label']/following-sibling::p").text

    browser.get(base + "/")
    queue = settle(browser, lambda d: d.find_element(By.ID, "queue").text)
    assert queue.index("neutral (by cs)") < queue.index("answered")  # unanswered above answered


def answered_share(browser, base: str) -> str:
    from selenium.webdriver.common.by import By

    browser.get(base + "/dashboard?period=this-month")
    section = browser.find_element(By.XPATH, "//section[h2[text()='customer-service']]")
    card = section.find_element(By.XPATH, ".//div[@class='figure'][div[@class='name' and text()='Answered share']]")
    return card.find_element(By.CLASS_NAME, "value").text


def test_dashboard_figure_moves_when_a_mention_is_answered(daemon, browser, shots):
    from selenium.webdriver.common.by import By

    base, config = daemon
    sign_in(browser, base, "admin")
    before = answered_share(browser, base)
    browser.get(f"{base}/mentions/{mention_id(config, 'c2')}")
    browser.find_element(By.XPATH, "//button[text()='Mark answered']").click()
    settle(browser, lambda d: "unanswered" not in d.find_element(By.CLASS_NAME, "routes").text)
    after = answered_share(browser, base)
    assert before == "0 %" and after != before, (before, after)
    browser.save_screenshot(str(shots / "dashboard.png"))
    browser.set_window_size(390, 844)
    browser.save_screenshot(str(shots / "dashboard-phone.png"))
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390


def test_hostile_mention_renders_as_text_and_runs_nothing(daemon, browser):
    from selenium.webdriver.common.by import By

    base, config = daemon
    sign_in(browser, base, "admin")
    browser.get(f"{base}/mentions/{mention_id(config, 'h1')}")
    text = browser.find_element(By.ID, "mention-text")
    assert "<script>" in text.text and "<img src=x onerror=" in text.text and "<!channel>" in text.text
    assert browser.title != "pwned" and "pwned" not in browser.title
    assert not text.find_elements(By.TAG_NAME, "img") and not text.find_elements(By.TAG_NAME, "script")
    hrefs = [a.get_attribute("href") for a in text.find_elements(By.TAG_NAME, "a")]
    assert hrefs == [f"{base}/out?url=javascript%3Adocument.title%3D", "https://example.org/ok"]
    text.find_element(By.CSS_SELECTOR, "a.unsafe").click()
    browser.switch_to.window(browser.window_handles[-1])
    assert "This link is not a web address" in browser.page_source and browser.title != "pwned"


def test_a_member_cannot_open_another_departments_mention(daemon, browser):
    from selenium.webdriver.common.by import By

    base, config = daemon
    sign_in(browser, base, "mk")
    browser.get(f"{base}/mentions/{mention_id(config, 'c1')}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    assert "Terrible service" not in browser.page_source
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/api/v1/mentions")
    assert refused.value.code == 401
