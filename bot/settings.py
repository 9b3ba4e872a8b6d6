"""Settings from `WHATMATTERS_*` environment variables and a `.env` file (DESIGN.md's table)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from insights import (
    SafeguardingList,
    ThemeCatalogue,
    load_catalogue,
    load_safeguarding,
    shipped_catalogue,
    shipped_safeguarding,
)
from storage import is_postgresql, sqlite_path

THEME_PACKS = ("council", "health")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WeeklyTime:
    """A day of the week and a time of day, such as `mon 09:00`."""

    weekday: int  # Monday is 0, as in datetime.weekday()
    at: time


@dataclass(frozen=True)
class OfficeHours:
    """The days and hours when the service is staffed, such as `mon-fri 09:00-17:00`."""

    weekdays: frozenset[int]
    opens: time
    closes: time


def _parse_time(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


def parse_weekly_time(text: str) -> WeeklyTime:
    """Read `mon 09:00` into a WeeklyTime."""
    match = re.fullmatch(r"\s*([a-z]{3})\w*\s+(\d{1,2}:\d{2})\s*", text.lower())
    if not match or match[1] not in DAYS:
        raise ValueError(f"{text!r} is not a day and time such as 'mon 09:00'")
    try:
        return WeeklyTime(DAYS.index(match[1]), _parse_time(match[2]))
    except ValueError:
        raise ValueError(f"{text!r} has a time that does not exist") from None


def parse_office_hours(text: str) -> OfficeHours:
    """Read `mon-fri 09:00-17:00` into OfficeHours."""
    pattern = r"\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*"
    match = re.fullmatch(pattern, text.lower())
    if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
        raise ValueError(f"{text!r} is not days and hours such as 'mon-fri 09:00-17:00'")
    first = DAYS.index(match[1])
    last = DAYS.index(match[2]) if match[2] else first
    days = frozenset(d % 7 for d in range(first, last + 1 if last >= first else last + 8))
    try:
        opens, closes = _parse_time(match[3]), _parse_time(match[4])
    except ValueError:
        raise ValueError(f"{text!r} has a time that does not exist") from None
    if closes <= opens:
        raise ValueError(f"{text!r} closes before it opens")
    return OfficeHours(days, opens, closes)


def _user_ids(value: object) -> object:
    """Accept `123,456` (as people write it in .env files) as well as a list."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        return [part for part in parts if part]
    if isinstance(value, int):
        return [value]
    return value


UserIds = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Everything a deployment can set; see `.env.example` for each one in plain words."""

    model_config = SettingsConfigDict(
        env_prefix="WHATMATTERS_", env_file=".env", extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str | None = None
    # A SQLite file (or sqlite:///path), or a postgresql://user@host:port/db URL, kept as written.
    database: str = "whatmatters.db"
    admins: UserIds = Field(default_factory=list)
    timezone: str = "Europe/London"
    digest_schedule: str = "mon 09:00"
    retention_days: int = Field(default=730, ge=1)
    safeguarding_contacts: UserIds = Field(default_factory=list)
    office_hours: str = "mon-fri 09:00-17:00"
    themes: str = "council"
    # The signs of risk looked for in answers, and the help offered: shipped, or an admin's file.
    safeguarding: str = "shipped"

    _split_ids = field_validator("admins", "safeguarding_contacts", mode="before")(_user_ids)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/London") from None
        return value

    @field_validator("digest_schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        parse_weekly_time(value)
        return value

    @field_validator("office_hours")
    @classmethod
    def _valid_office_hours(cls, value: str) -> str:
        parse_office_hours(value)
        return value

    @field_validator("themes")
    @classmethod
    def _known_themes(cls, value: str) -> str:
        if value not in THEME_PACKS and not Path(value).is_file():
            raise ValueError(
                f"{value!r} is neither a shipped theme pack ({', '.join(THEME_PACKS)})"
                " nor a theme catalogue file"
            )
        return value

    @field_validator("database", mode="before")
    @classmethod
    def _database_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file the database setting names; None when it is PostgreSQL."""
        return None if is_postgresql(self.database) else sqlite_path(self.database)

    @property
    def file_url(self) -> str:
        """The base for file downloads: as given, or derived from the API base."""
        if self.api_file_url:
            return self.api_file_url
        base = self.api_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    @property
    def zone(self) -> ZoneInfo:
        """The time zone for schedules and dates."""
        return ZoneInfo(self.timezone)

    @property
    def digest_time(self) -> WeeklyTime:
        """When the weekly digest goes out."""
        return parse_weekly_time(self.digest_schedule)

    @property
    def staffed_hours(self) -> OfficeHours:
        """When the service is staffed."""
        return parse_office_hours(self.office_hours)

    def theme_catalogue(self) -> ThemeCatalogue:
        """The themes answers are sorted into: a shipped pack, or an admin's own file."""
        if self.themes == "council":
            return shipped_catalogue("council")
        if self.themes == "health":
            return shipped_catalogue("health")
        return load_catalogue(Path(self.themes))

    @field_validator("safeguarding")
    @classmethod
    def _known_safeguarding(cls, value: str) -> str:
        if value != "shipped" and not Path(value).is_file():
            raise ValueError(f"{value!r} is neither 'shipped' nor a safeguarding list file")
        return value

    def safeguarding_list(self) -> SafeguardingList:
        """The signs of risk and the signposting: the shipped list, or an admin's own file."""
        if self.safeguarding == "shipped":
            return shipped_safeguarding()
        return load_safeguarding(Path(self.safeguarding))

    def is_admin(self, user_id: int) -> bool:
        """Whether this Telegram user is one of the configured admins."""
        return user_id in self.admins
