"""The dashboard in tests: served by uvicorn on 127.0.0.1 in the test's own event loop, and a
real headless chromium (Debian's, through its chromedriver) driven from a worker thread so the
bot and the server go on while the browser waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest
import uvicorn

from bot.settings import Settings
from storage import Clock, utc_now
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Nothing is fetched from the network, and nothing is updated behind the test's back.
BROWSER_FLAGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--headless",
)
T = TypeVar("T")
# How long a click may take to load the next page (a busy CI machine is slow).
PAGE_LOAD_SECONDS = 30


def free_socket() -> socket.socket:
    """A listening socket on 127.0.0.1, on a port the system picks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class WebServer:
    """`whatmatters web` as a task: the real app and its lifespan, on a socket of its own."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, settings: Settings, clock: Clock = utc_now) -> None:
        """Serve the dashboard over these settings, and wait until it answers."""
        config = uvicorn.Config(
            create_app(settings, clock=clock), log_config=None, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        for _ in range(200):
            if self._server.started:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the dashboard did not start")

    async def stop(self) -> None:
        """Stop serving and close the services."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)
        self.sock.close()


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return (
            "needs Debian's chromium and chromium-driver (apt-get install -y chromium "
            "chromium-driver; .ci/run installs them)"
        )
    return None


def need_browser() -> None:
    """Skip without the browser, but fail in CI (CI=true), where it must be installed."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot be skipped in CI: {reason}")
    pytest.skip(reason)


class Browser:
    """A headless chromium; each call runs in a worker thread and is awaited."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        options = Options()
        options.binary_location = str(CHROMIUM)
        for flag in BROWSER_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--window-size={width},{height}")
        self.driver = webdriver.Chrome(
            options=options, service=Service(executable_path=str(CHROMEDRIVER))
        )

    @classmethod
    async def launch(cls, width: int = 1280, height: int = 900) -> Browser:
        """Start the browser (in a worker thread: it takes a second)."""
        return await asyncio.to_thread(cls, width, height)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.driver.quit)

    async def _do(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    async def open(self, url: str) -> None:
        """Go to a page."""
        await self._do(lambda: self.driver.get(url))

    async def click(self, css: str) -> None:
        """Click the element (a link or a button), and wait for what it loads."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        def work() -> None:
            page = self.driver.find_element(By.TAG_NAME, "html")
            self.driver.find_element(By.CSS_SELECTOR, css).click()
            # A click only starts the navigation: wait until the old page is gone and the
            # new one has loaded, or the next look may find an element of the old page.
            wait = WebDriverWait(self.driver, PAGE_LOAD_SECONDS)
            wait.until(expected_conditions.staleness_of(page))
            wait.until(
                lambda driver: driver.execute_script("return document.readyState") == "complete"
            )

        await self._do(work)

    async def fill(self, css: str, text: str) -> None:
        """Type into a field, replacing what it held."""
        from selenium.webdriver.common.by import By

        def work() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, css)
            field.clear()
            field.send_keys(text)

        await self._do(work)

    async def choose(self, css: str, value: str) -> None:
        """Pick an option of a select by its value."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        await self._do(
            lambda: Select(self.driver.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
        )

    async def text(self, css: str = "body") -> str:
        """The visible text of an element."""
        from selenium.webdriver.common.by import By

        return await self._do(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text)

    async def source(self) -> str:
        """The page's HTML as the browser holds it."""
        return await self._do(lambda: self.driver.page_source)

    async def url(self) -> str:
        """Where the browser is."""
        return await self._do(lambda: self.driver.current_url)

    async def script(self, code: str) -> Any:
        """Evaluate JavaScript through the driver (the page's CSP does not apply to it)."""
        return await self._do(lambda: self.driver.execute_script(code))

    async def press_tab(self, times: int) -> str:
        """Press Tab `times` times from the top of the page; the focused element's text."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        def work() -> str:
            chain = ActionChains(self.driver)
            for _ in range(times):
                chain.send_keys(Keys.TAB)
            chain.perform()
            focused = self.driver.switch_to.active_element
            return str(focused.text or focused.get_attribute("value") or "")

        return await self._do(work)

    async def screenshot(self, path: Path, width: int = 1280) -> None:
        """Save the whole page as PNG, `width` pixels wide."""

        def work() -> None:
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, max(int(height) + 120, 600))
            self.driver.save_screenshot(str(path))

        await self._do(work)

    async def resize(self, width: int, height: int) -> None:
        """Make the window this size (e.g. 320 wide, a small phone)."""
        await self._do(lambda: self.driver.set_window_size(width, height))


def has_browser() -> bool:
    """Whether chromium and its driver are installed (for tests that only screenshot)."""
    return browser_missing() is None and shutil.which(str(CHROMIUM)) is not None
