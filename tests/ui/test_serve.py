"""`tuivmm serve` in a real browser: Debian's chromium, headless, driven by selenium
through Debian's chromedriver (both installed by .ci/install-tools; nothing here
downloads a browser).  The page must show the dashboard, and a line typed into it
must reach the unix guest and come back.

xterm.js in the page draws the terminal on a canvas, so there is no text in the DOM
to read.  A script run before the page's own catches the xterm Terminal as
textual-serve's code stores it (`this.terminal = new Terminal(...)`), and the test
reads the rows of its buffer: the text xterm.js was given to draw.  The screenshot
then shows that it drew it."""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import aiohttp
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1400, 900)  # about 145 x 38 cells at xterm.js's 16 px: every pane on screen
PATIENCE = 60.0  # seconds for each wait; the guest boots in the dashboard the page starts

# Before the page's scripts run: the first object given a `terminal` that looks like an
# xterm Terminal (it has a buffer) is kept in window.tuivmmTerminal.  Every other
# `x.terminal = ...` still just sets the property.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && !window.tuivmmTerminal) window.tuivmmTerminal = value;
  },
});
"""
SCREEN_TEXT = """
const term = window.tuivmmTerminal;
if (!term) return "";
const buffer = term.buffer.active, rows = [];
for (let y = 0; y < term.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  rows.push(line ? line.translateToString(true) : "");
}
return rows.join("\\n");
"""


class Served:
    """`tuivmm serve ARGS` as a subprocess; its output gathered as it comes."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen([sys.executable, "-m", "tuivmm", "serve", *args], cwd=ROOT, env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)  # fmt: skip
        self.lines: list[str] = []
        self.seen: set[int] = set()  # the dashboards it started, to kill if a test fails
        threading.Thread(target=self._gather, daemon=True).start()

    def _gather(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def url(self) -> str:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and self.process.poll() is None:
            for line in self.lines:
                if found := re.fullmatch(r"tuivmm serve: open (http://127\.0\.0\.1:\d+) in a browser \(Ctrl-C stops\)",
                                         line):  # fmt: skip
                    return found[1]
            time.sleep(0.1)
        raise AssertionError(f"tuivmm serve printed no address:\n{self.output()}")

    def dashboards(self) -> list[int]:
        """The pids of the dashboards the server started (Linux's /proc)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        dashboards = [int(child) for child in children.read_text().split()] if children.exists() else []
        self.seen.update(dashboards)
        return dashboards

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for pid in self.seen:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def gone(pid: int) -> bool:
    """The process exited (reaped, or a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.fixture
def browser(tmp_path):
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not Path(tool).is_file():
            pytest.fail(f"{tool} is missing: `bash .ci/install-tools` installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--user-data-dir={tmp_path / 'chromium'}"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        yield driver
    finally:
        driver.quit()


def wait_for_screen(driver, served: Served, condition, what: str) -> str:
    deadline = time.monotonic() + PATIENCE
    text = ""
    while time.monotonic() < deadline:
        text = driver.execute_script(SCREEN_TEXT)
        if condition(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"gave up waiting for {what}; the page shows:\n{text}\n--- tuivmm serve:\n{served.output()}")


def test_the_served_dashboard_runs_unix_in_the_browser_and_echoes_a_typed_line(browser, tmp_path):
    served = Served("--port", "0", "unix")
    try:
        browser.get(served.url())
        screen = wait_for_screen(browser, served, lambda text: re.search(r"│\$ ", text), "the unix prompt")
        assert "guests" in screen and re.search(r"│ 1\s+unix\s", screen), screen  # the guest list
        assert "console: unix" in screen, screen

        browser.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("echo browser-ok" + Keys.ENTER)
        screen = wait_for_screen(browser, served, lambda text: text.count("browser-ok") >= 2, "the echo")
        assert re.search(r"│\$ echo browser-ok\s", screen) and re.search(r"│browser-ok\s", screen), screen

        # Drawn, not only received: the intro is gone and the canvas shows the dashboard.
        state = browser.execute_script("return document.body.className").split()
        assert "-first-byte" in state and "-closed" not in state, state  # textual-serve's page: drawing, connected
        shot = tmp_path / "served.png"
        shot.write_bytes(browser.get_screenshot_as_png())
        width, height, pixels = read_png(shot.read_bytes())
        ratio = browser.execute_script("return window.devicePixelRatio")
        inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")
        assert (width, height) == (round(inner[0] * ratio), round(inner[1] * ratio))
        colours = collections.Counter(pixels)
        assert len(colours) > 200, f"{len(colours)} colours: not the dashboard's text ({shot})"
        assert colours.most_common(1)[0][1] < 0.6 * width * height, f"mostly one colour ({shot})"

        # Ctrl-C (SIGINT): the server quits the dashboard it started, then itself.
        dashboards = served.dashboards()
        assert len(dashboards) == 1, served.output()
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(timeout=30) == 0, served.output()
        assert all(gone(pid) for pid in dashboards)
        assert served.lines[-1] == "tuivmm serve: stopped", served.output()
    finally:
        served.kill()


def test_a_dashboard_quits_when_its_server_is_killed():
    """A browser's dashboard outlives a server killed outright (no Ctrl-C to pass on)
    by a second or two at most.  A websocket alone is a browser to textual-serve."""
    served = Served("--port", "0", "hello")
    try:
        url = served.url()

        async def connect_then_kill_the_server() -> list[int]:
            async with aiohttp.ClientSession() as client, client.ws_connect(f"{url}/ws?width=80&height=24") as page:
                await page.receive(timeout=PATIENCE)  # the dashboard's first screen
                dashboards = served.dashboards()
                served.process.kill()
                served.process.wait(timeout=10)
                return dashboards

        dashboards = asyncio.run(connect_then_kill_the_server())
        assert len(dashboards) == 1, served.output()
        deadline = time.monotonic() + 15
        while not all(gone(pid) for pid in dashboards) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(gone(pid) for pid in dashboards), "the dashboard runs on without its server"
    finally:
        served.kill()


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, every pixel's RGB) of an 8-bit RGB or RGBA PNG, as chromium
    writes them (the PNG spec, section 9: a filter byte per scanline, then the
    differences it names).  Pure Python, a few seconds: Pillow is no dependency."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, compressed = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
        elif kind == b"IDAT":
            compressed.append(body)
        pos += 12 + length
    step = 3 if colour == 2 else 4
    stride = width * step
    raw = zlib.decompress(b"".join(compressed))
    pixels: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(step, stride):
                line[i] = (line[i] + line[i - step]) & 255
        elif kind == 2:  # Up
            line = bytearray((x + up) & 255 for x, up in zip(line, prior))
        elif kind == 3:  # Average
            for i in range(stride):
                line[i] = (line[i] + ((line[i - step] if i >= step else 0) + prior[i]) // 2) & 255
        elif kind == 4:  # Paeth: a the byte to the left, b the one above, c above that one's left
            for i in range(stride):
                a, b, c = (line[i - step], prior[i], prior[i - step]) if i >= step else (0, prior[i], 0)
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels.extend(bytes(line[i : i + 3]) for i in range(0, stride, step))
        prior = line
    return width, height, pixels
