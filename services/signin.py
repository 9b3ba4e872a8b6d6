"""Signing in to the web dashboard without passwords: the bot hands a member of staff a one-time
link, and spending it opens a session. No Telegram and no HTTP in here.

Tokens are random (256 bits) and only their SHA-256 hashes are stored, so a copy of the database
signs nobody in. Who someone is (admin, staff, safeguarding contact, or nobody any more) is looked
up on every request, not remembered from sign-in: removing a member of staff ends their sessions
at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.settings import Settings
from storage import Clocked, StaffAndAudit
from storage.interfaces import Dashboard

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
SIGN_IN_PATH = "/signin/"


class SignInStore(Dashboard, StaffAndAudit, Clocked, Protocol):
    """What signing in needs of storage."""


def token_hash(token: str) -> str:
    """The hash under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def form_token(session_token: str) -> str:
    """The CSRF token of a session's forms: bound to the session's secret cookie, so another
    site can neither read nor guess it."""
    return hmac.new(session_token.encode(), b"whatmatters forms", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the dashboard, and what they may see."""

    telegram_user_id: int
    name: str
    admin: bool
    # Safeguarding contacts and admins see answers carrying a sign of risk; others never do.
    sees_risk: bool

    @property
    def role(self) -> str:
        """How the page names their role."""
        if self.admin:
            return "admin"
        return "safeguarding contact" if self.sees_risk else "staff"


class SignIns:
    """Issue and spend sign-in links; find who a session belongs to, as of now."""

    def __init__(self, settings: Settings, storage: SignInStore) -> None:
        self.settings = settings
        self.storage = storage

    async def issue_link(self, telegram_user_id: int) -> str:
        """A one-time sign-in link (valid 15 minutes) for this person, as a full URL."""
        token = secrets.token_urlsafe(32)
        expires = self.storage.now() + LINK_LIFETIME
        await self.storage.create_sign_in_link(token_hash(token), telegram_user_id, expires)
        await self.storage.audit(telegram_user_id, "dashboard link")
        base = (self.settings.web_url or "").rstrip("/")
        return f"{base}{SIGN_IN_PATH}{token}"

    async def link_open(self, token: str) -> bool:
        """Whether a sign-in link can still be used."""
        return await self.storage.sign_in_link_open(token_hash(token))

    async def spend_link(self, token: str) -> tuple[str, Viewer] | None:
        """Spend a link: a new session's secret and who it is for; None if the link is unknown,
        used or expired, or its owner is no longer staff."""
        session = secrets.token_urlsafe(32)
        user = await self.storage.spend_sign_in_link(
            token_hash(token), token_hash(session), self.storage.now() + SESSION_LIFETIME
        )
        if user is None:
            return None
        viewer = await self.viewer(session)
        if viewer is None:
            return None
        await self.storage.audit(user, "dashboard sign in")
        return session, viewer

    async def viewer(self, session: str) -> Viewer | None:
        """Who holds this session now; None (and every session of theirs ended) if they are no
        longer staff or admin, or if the session ended or expired."""
        found = await self.storage.web_session(token_hash(session))
        if found is None:
            return None
        user = found.telegram_user_id
        member = await self.storage.staff_member(user)
        admin = self.settings.is_admin(user)
        if member is None and not admin:
            await self.storage.end_web_sessions(user)
            return None
        contact = user in self.settings.safeguarding_contacts or bool(
            member and member.safeguarding
        )
        name = member.name if member else "Admin"
        return Viewer(user, name, admin, admin or contact)

    async def sign_out(self, session: str, viewer: Viewer) -> None:
        """End this session."""
        await self.storage.end_web_session(token_hash(session))
        await self.storage.audit(viewer.telegram_user_id, "dashboard sign out")

    async def may_use_dashboard(self, telegram_user_id: int) -> bool:
        """Whether this person is staff or an admin (others get the polite refusal)."""
        return self.settings.is_admin(telegram_user_id) or (
            await self.storage.staff_member(telegram_user_id) is not None
        )
