"""End to end in a real headless chromium: the bot sends a member of staff the /dashboard link,
the browser signs in with it, browses, filters, searches and writes an action; an admin uploads a
broken flow and sees its line; XSS, CSRF, role and used-link attempts are refused."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram, Resident
from tests.running_bot import RunningBot, said, settings_for
from tests.test_bot_staff import ANSWERS, PRIYA, complete_flow, invite_and_join
from tests.web_helpers import Browser, WebServer, free_socket, need_browser

# A resident who writes markup: it must show as text, and nothing of it may run.
XSS = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"> bins"
BROKEN_FLOW = """\
id: broken
title: A broken flow
steps:
  - id: hello
    kind: message
    text: Hello
  - id: ask
    kind: text
    text: What matters?
    next: nowhere
"""
# Set to a folder (e.g. docs) to keep screenshots of the pages for the README.
SCREENSHOTS = os.environ.get("WHATMATTERS_SCREENSHOTS")


@dataclass
class Dashboard:
    """The bot and the dashboard over one database."""

    tg: FakeTelegram
    bot: RunningBot
    web: WebServer


@pytest.fixture
async def dashboard(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Dashboard]:
    """The real bot (with an admin) and `whatmatters web`, the links pointing at it."""
    need_browser()
    web = WebServer(free_socket())
    settings = settings_for(tg, tmp_path / "whatmatters.db", admins=[ADMIN], web_url=web.url)
    bot = RunningBot(tg, settings)
    await bot.start()
    await web.start(settings)
    try:
        yield Dashboard(tg, bot, web)
    finally:
        await web.stop()
        await bot.stop()


async def link_for(person: Resident) -> str:
    """Ask the bot for a sign-in link, as staff do."""
    person.send("/dashboard")
    message = await said(person)
    match = re.search(r"http://127\.0\.0\.1:\d+/signin/\S+", message.plain)
    assert match is not None, message.plain
    return match[0]


async def sign_in(browser: Browser, link: str) -> None:
    """Follow the link and press Sign in."""
    await browser.open(link)
    await browser.click("#sign-in")
    assert await browser.text("h1") == "Overview"


async def shoot(browser: Browser, name: str, width: int = 1280) -> None:
    """Keep a screenshot for the README, when asked to."""
    if SCREENSHOTS:
        await browser.screenshot(Path(SCREENSHOTS) / f"dashboard-{name}.png", width)


async def test_staff_sign_in_with_the_bots_link_then_browse_filter_search_and_act(
    dashboard: Dashboard,
) -> None:
    """A member of staff signs in with the bot's link and uses every page; XSS shows as text,
    CSRF and admin pages are refused, a used link is refused, and removal signs them out."""
    tg = dashboard.tg
    for n, (matters, difference) in enumerate(ANSWERS):
        await complete_flow(tg.resident(600 + n), matters, difference)
    await complete_flow(tg.resident(700), XSS, "Rubbish bins left out for days attract rats")
    priya = await invite_and_join(tg, "Priya", PRIYA)
    link = await link_for(priya)
    async with await Browser.launch() as browser:
        await sign_in(browser, link)
        overview = await browser.text("main")
        assert "Residents 4 0" in overview
        assert "Answers 16 0" in overview  # four answers each from four residents
        await shoot(browser, "overview")
        # A theme, filtered by tone.
        await browser.click('a[href="/themes/Repairs"]')
        assert await browser.text("h1") == "Theme: Repairs"
        assert "07700 900123" not in await browser.text("main")  # redacted
        await browser.choose("#tone", "negative")
        await browser.click("#apply")
        assert "tone=negative" in await browser.url()
        assert re.match(r"\d+ answers?", await browser.text("#total"))
        await shoot(browser, "theme")
        # Search; the resident's markup is text, and none of it ran.
        await browser.open(dashboard.web.url + "/search")
        await browser.fill("#q", "pwned")
        await browser.click("#apply")
        assert (await browser.text("#total")).startswith("1 answer")
        assert "<script>document.title='pwned'</script>" in await browser.text(".answers")
        assert await browser.script("return document.title") != "pwned"
        assert await browser.script("return document.querySelectorAll('main script').length") == 0
        assert await browser.script("return document.querySelectorAll('main img').length") == 0
        # You said, we did: check who will be told, then publish.
        await browser.open(dashboard.web.url + "/actions")
        await browser.choose("#theme", "Repairs")
        await browser.choose("#status", "planned")
        await browser.fill("#text", "A repairs team on call at weekends from December.")
        await browser.click("#check-action")
        assert (await browser.text("#reach")).isdigit()
        await browser.click("#publish-action")
        assert await browser.text("h1") == "Action on Repairs"
        assert "planned" in await browser.text("main")
        await shoot(browser, "action")
        log = await dashboard.bot.storage.audit_log()
        assert "dashboard action" in [entry.action for entry in log]
        # A form posted without the session's CSRF token changes nothing.
        actions_before = len(await dashboard.bot.storage.action_summaries())
        await browser.open(dashboard.web.url + "/actions")
        await browser.script("document.querySelector('#text').form.csrf.value = 'forged'")
        await browser.fill("#text", "Forged")
        await browser.click("#check-action")
        assert "did not come from the dashboard" in await browser.text("main")
        assert len(await dashboard.bot.storage.action_summaries()) == actions_before
        # Staff cannot reach admin pages.
        await browser.open(dashboard.web.url + "/conversations")
        assert "for admins only" in await browser.text("main")
        # The link was spent; a made-up one is no better.
        await browser.open(link)
        assert "has been used, has expired" in await browser.text("main")
        await browser.open(dashboard.web.url + "/signin/made-up-token")
        assert "send /dashboard to the bot" in await browser.text("main")
        # An admin removes Priya: her next click finds her signed out.
        await browser.open(dashboard.web.url + "/")
        assert await browser.text("h1") == "Overview"
        admin = tg.resident(ADMIN)
        admin.send("/staff")
        await said(admin)
        admin.press("Remove Priya")
        assert "Priya was removed" in (await said(admin)).plain
        await browser.open(dashboard.web.url + "/search")
        assert (await browser.url()).endswith("/signin")


async def test_an_admin_uploads_a_broken_flow_and_sees_each_mistake_with_its_line(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    """An admin uploads a flow file with a mistake: the page names its line and keeps nothing."""
    admin = dashboard.tg.resident(ADMIN, first_name="Ada")
    link = await link_for(admin)
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_FLOW, encoding="utf-8")
    async with await Browser.launch() as browser:
        await sign_in(browser, link)
        await browser.click('a[href="/conversations"]')
        assert await browser.text("h1") == "Conversations"
        await browser.fill("#file", str(broken))
        await browser.click("#upload")
        problems = await browser.text("#problems")
        assert "broken.yaml, line 10" in problems
        assert "nowhere" in problems
        assert await dashboard.bot.storage.drafted_flows() == set()
        await shoot(browser, "conversations")
        # The page reads at 320 px wide: nothing sticks out sideways.
        await browser.resize(320, 800)
        await browser.open(dashboard.web.url + "/")
        assert await browser.script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        )
        await shoot(browser, "phone", 320)
        # Keyboard alone: the first Tab reaches the skip link.
        await browser.open(dashboard.web.url + "/")
        assert await browser.press_tab(1) == "Skip to the content"
