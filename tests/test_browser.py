"""`reviewer web` in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by selenium) opens the link the server printed, the queue's first item is opened and
approved with the keyboard, and the decision is in the queue. A screenshot is kept in
artifacts/. A page of another origin, in the same browser, gets nothing and decides nothing.

The terminal is drawn on a canvas, so the test reads the queue, not the pixels: opening the
first row claims that item, and `a` records the decision. Then the server is killed (-9): its
session ends too, and gives back the item it held. Skipped where Chromium is absent,
except in CI, which installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewer.storage import SqlQueue

from factories import action, output

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER) and not os.environ.get("CI"),
    reason="needs Debian's chromium and chromium-driver (CI installs them)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER or "/usr/bin/chromedriver"), options=opts)
    yield driver
    driver.quit()


def test_the_app_in_a_browser_opens_an_item_and_approves_it_with_the_keyboard(tmp_path, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    db = f"sqlite:///{tmp_path / 'web.db'}"
    q = SqlQueue.open(db)
    q.enqueue_many([output(1, priority=0, output="the first answer"), output(2), action(3, risk="low")])
    server, port, link = start_web(db)
    try:
        browser.get(link)  # the secret becomes a cookie, and leaves the address bar
        assert browser.current_url == f"http://127.0.0.1:{port}/"
        # textual-serve marks the body once the app's first bytes arrive over its websocket
        wait_for("the app's first frame", lambda: "-first-byte" in (
            browser.find_element(By.TAG_NAME, "body").get_attribute("class") or ""))
        time.sleep(3)  # the first page of rows, and the ORM behind it
        # keys go to xterm's input (a click could land on a row: the app takes the mouse too)
        browser.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
        ActionChains(browser).send_keys(Keys.ENTER).perform()  # open the first row: the top-priority item
        first, second = [r.id for r in q.list_items(order="triage", limit=2)]  # as the list shows them
        wait_for("the first row to be claimed", lambda: q.get(first).status == "claimed")
        assert q.get(first).claimed_by == "browser-ann"
        ARTIFACTS.mkdir(exist_ok=True)
        time.sleep(1.5)  # the review screen's frame, after the claim that opened it
        browser.save_screenshot(str(ARTIFACTS / "browser-review.png"))
        ActionChains(browser).send_keys("a").perform()
        wait_for("the decision", lambda: q.get(first).status == "decided")
        d = q.get(first).decisions[-1]
        assert (d.verdict, d.reviewer, d.by) == ("approve", "browser-ann", "human")
        wait_for("the next item to be claimed", lambda: q.get(second).status == "claimed")
        browser.save_screenshot(str(ARTIFACTS / "browser-after-approve.png"))
        # the server dies outright while the session shows an item: the session ends with it
        # and gives the item back (left running, it would renew the lease for ever)
        server.kill()
        wait_for("the orphaned session to give its item back", lambda: q.get(second).status == "pending", 20)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        q.close()


def start_web(db: str) -> tuple[subprocess.Popen[str], int, str]:
    """`reviewer web` on a local queue, and the link it printed (with this run's secret)."""
    port = free_port()
    env = {**os.environ, "REVIEWER_NAME": "browser-ann"}
    server = subprocess.Popen([sys.executable, "-m", "reviewer", "--db", db, "web", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    link = ""
    for line in server.stderr:
        if "?token=" in line:
            link = line.strip()
            break
    assert link.startswith(f"http://127.0.0.1:{port}/?token="), link
    wait_for("reviewer web to listen", lambda: _listening(port), 30)
    return server, port, link


ATTACK = """<!doctype html><title>cat pictures</title><script>
window.seen = [];
const ENTER = String.fromCharCode(13);
const ws = new WebSocket("ws://127.0.0.1:{port}/ws?width=120&height=40");
ws.onopen = () => {{
  window.seen.push("open");
  for (const key of ["/", "a", "c", "t", "-", "9", ENTER, ENTER, "a"]) ws.send(JSON.stringify(["stdin", key]));
}};
ws.onmessage = () => window.seen.push("message");
ws.onerror = () => window.seen.push("error");
ws.onclose = () => window.seen.push("close");
fetch("http://127.0.0.1:{port}/", {{credentials: "include"}})
  .then(r => r.text().then(t => window.seen.push("read:" + t.length)), () => window.seen.push("fetch refused"));
</script>"""


def test_a_page_of_another_origin_gets_nothing_from_the_session_and_decides_nothing(tmp_path, browser):
    """The reviewer opened the real link first, so the browser holds the cookie; a page on
    another port of the same host (same site, so SameSite does not help) then tries the
    websocket and the page."""
    import http.server
    import threading

    db = f"sqlite:///{tmp_path / 'web.db'}"
    q = SqlQueue.open(db)
    q.enqueue(action(9, risk="critical", action={"tool": "transfer_funds",
                                                 "arguments": {"to_iban": "GB00EVIL", "amount": 50000}}))
    server, port, link = start_web(db)
    evil_dir = tmp_path / "evil"
    evil_dir.mkdir()
    (evil_dir / "index.html").write_text(ATTACK.format(port=port))
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(evil_dir))  # noqa: E731
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(link)
        assert any(c["name"] == f"reviewer_web_{port}" for c in browser.get_cookies())
        browser.get(f"http://127.0.0.1:{evil.server_address[1]}/index.html")
        time.sleep(5)  # the attack's connection, and anything the session would have done by now
        seen = browser.execute_script("return window.seen")
        assert "close" in seen and ("fetch refused" in seen or any(s.startswith("read:") for s in seen)), seen
        assert "open" not in seen and "message" not in seen, seen
        assert not any(s.startswith("read:") for s in seen), seen  # the page's body stays unread
        item = q.get("act-9")
        assert (item.status, item.decisions, item.claimed_by) == ("pending", [], None)
        # and without the cookie (another browser profile, a local user's script): refused
        import httpx

        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 403
        assert httpx.get(link.replace("?token=", "?token=x")).status_code == 403
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        assert server.stderr is not None
        secret = link.split("?token=")[1]
        assert secret not in server.stderr.read()  # printed once, in the link; never logged
    finally:
        evil.shutdown()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        q.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
