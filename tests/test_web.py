"""The dashboard over HTTP without a browser: links that expired, forms without their token,
security headers, sign-in limits, who sees answers with signs of risk, and the CSV export."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.settings import Settings
from services import Services, build_services
from services.signin import SignIns, token_hash
from storage.models import Analysed, NewAnswer, Turn
from tests.clock import HandClock
from tests.conftest import ADMIN
from tests.fake_telegram import FakeTelegram
from tests.running_bot import RunningBot, said, settings_for
from tests.web_helpers import WebServer, free_socket
from web.export import cell, csv_of
from web.guard import RateLimit

STAFF = 801


@dataclass
class Site:
    """The dashboard served over a database the test fills through the services."""

    url: str
    services: Services
    clock: HandClock


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """`whatmatters web` on a fresh database, with one admin and one member of staff."""
    clock = HandClock()
    web = WebServer(free_socket())
    settings = Settings(
        _env_file=None, database=tmp_path / "web.db", admins=[ADMIN], web_url=web.url
    )
    async with build_services(settings, clock=clock) as services:
        code = "ABCD-EFGH"
        await services.storage.create_invite(code, ADMIN, clock() + timedelta(days=1))
        await services.storage.redeem_invite(code, STAFF, STAFF, "Priya")
        await web.start(settings, clock)
        try:
            yield Site(web.url, services, clock)
        finally:
            await web.stop()


def client() -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1 (aiohttp's jar skips IP hosts by default)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(http: aiohttp.ClientSession, site: Site, user: int) -> aiohttp.ClientResponse:
    """Follow a fresh link for `user` and press Sign in."""
    link = await SignIns(site.services.settings, site.services.storage).issue_link(user)
    async with http.get(link) as page:
        check = re.search(r'name="check" value="([^"]+)"', await page.text())
    assert check is not None
    async with http.post(link, data={"check": check[1]}, allow_redirects=False) as response:
        return response


async def test_a_link_works_once_within_15_minutes_and_sets_a_strict_session_cookie(
    site: Site,
) -> None:
    """A fresh link signs in with an HttpOnly, SameSite=Lax cookie of at most 12 hours; an
    expired link shows the page that says to ask the bot again."""
    async with client() as http:
        response = await sign_in(http, site, STAFF)
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Max-Age=43200" in cookie
        assert "Secure" not in cookie  # http here; https sets it
        late = await SignIns(site.services.settings, site.services.storage).issue_link(STAFF)
        site.clock.now += timedelta(minutes=16)
        async with http.get(late) as page:
            assert page.status == 400
            assert "has been used, has expired" in await page.text()


async def test_pages_carry_the_security_headers_and_signed_out_visits_go_to_sign_in(
    site: Site,
) -> None:
    """Every response has a CSP without scripts, no framing, nosniff and no referrer."""
    async with client() as http, http.get(site.url + "/search", allow_redirects=False) as page:
        assert page.status == 303
        assert page.headers["Location"] == "/signin"
        csp = page.headers["Content-Security-Policy"]
        assert "script-src" not in csp
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"


async def test_the_sign_in_form_and_signed_in_forms_refuse_a_missing_or_wrong_token(
    site: Site,
) -> None:
    """Posting the sign-in form without its cookie-bound check, or a form without the session's
    CSRF token, changes nothing."""
    link = await SignIns(site.services.settings, site.services.storage).issue_link(STAFF)
    async with client() as http:
        async with http.post(link, data={"check": "guess"}) as refused:
            assert refused.status == 403
        assert await site.services.storage.sign_in_link_open(token_hash(link.rsplit("/", 1)[1]))
        await sign_in(http, site, STAFF)
        form = {"theme": "Repairs", "status": "planned", "text": "Forged", "confirm": "yes"}
        async with http.post(site.url + "/actions/plan", data=form) as missing:
            assert missing.status == 403
        async with http.post(site.url + "/actions/plan", data={**form, "csrf": "x"}) as wrong:
            assert wrong.status == 403
        async with http.post(site.url + "/signout", data={}) as still:
            assert still.status == 403
    assert await site.services.storage.action_summaries() == []


async def test_sign_in_links_are_limited_per_address_and_per_link(site: Site) -> None:
    """Guessing links from one address is cut off after a few tries a minute (429)."""
    async with client() as http:
        statuses = []
        for n in range(12):
            async with http.get(f"{site.url}/signin/guess-{n}") as page:
                statuses.append(page.status)
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    limit = RateLimit(3, 60, clock=lambda: 0.0)
    assert [limit.allow("link") for _ in range(4)] == [True, True, True, False]


async def test_answers_with_a_sign_of_risk_are_only_for_admins_and_safeguarding_contacts(
    site: Site,
) -> None:
    """Staff never see an answer that carried a sign of risk; an admin does, flagged."""
    storage = site.services.storage
    resident = await storage.resident(5001, 5001)
    found = Analysed(("Repairs",), -0.5, "negative", ())
    await storage.save_turn(
        Turn(
            resident.id, None, "what-matters", 1, None, "done", "{}",
            NewAnswer("matters", "What matters?", "the stairs light, I feel hopeless",
                      kind="text", analysed=found, safeguarding=("despair",)),
        )
    )  # fmt: skip
    async with client() as http:
        await sign_in(http, site, STAFF)
        async with http.get(site.url + "/search?q=hopeless") as page:
            assert "0 answers" in await page.text()
    async with client() as http:
        await sign_in(http, site, ADMIN)
        async with http.get(site.url + "/search?q=hopeless") as page:
            text = await page.text()
            assert "1 answer" in text
            assert "Sign of risk" in text
            assert str(resident.telegram_user_id) not in text
            assert resident.pseudonym in text


async def test_the_csv_export_opens_in_excel_and_cannot_carry_a_formula(site: Site) -> None:
    """The export starts with a UTF-8 BOM, and a cell starting = + - @ is quoted as text."""
    assert cell('=HYPERLINK("http://x")').startswith("'=")
    assert cell("@SUM(1)") == "'@SUM(1)"
    assert cell("Bins") == "Bins"
    storage = site.services.storage
    resident = await storage.resident(5002, 5002)
    await storage.save_turn(
        Turn(
            resident.id, None, "what-matters", 1, None, "done", "{}",
            NewAnswer("matters", "What matters?", "=1+1 the bins", kind="text"),
        )
    )  # fmt: skip
    async with client() as http:
        await sign_in(http, site, STAFF)
        async with http.get(site.url + "/export.csv?q=bins") as export:
            body = await export.read()
            assert export.headers["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff".encode())
    assert "'=1+1 the bins" in body.decode("utf-8-sig")
    assert (await storage.audit_log())[-1].action == "dashboard export"
    assert csv_of([], site.services.settings.zone, str).decode("utf-8-sig").startswith("resident,")


async def test_a_resident_who_sends_dashboard_gets_the_polite_refusal(
    tg: FakeTelegram, database: Path
) -> None:
    """/dashboard from someone who is not staff gets the same refusal as other staff commands."""
    bot = RunningBot(tg, settings_for(tg, database, web_url="http://127.0.0.1:9"))
    await bot.start()
    try:
        resident = tg.resident(4242)
        resident.send("/dashboard")
        assert "that is for staff of the service" in (await said(resident)).plain
    finally:
        await bot.stop()
