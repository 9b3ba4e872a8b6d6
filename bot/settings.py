"""Settings from `WHATMATTERS_*` environment variables and a `.env` file (see `.env.example`)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from insights import (
    SafeguardingList,
    ThemeCatalogue,
    catalogue_for,
    load_safeguarding,
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


PREFIX = "WHATMATTERS_"

# How to find the number Telegram knows a person by; @username is not it, and can change.
FIND_USER_ID = (
    "Telegram user ids are numbers such as 123456789, not @usernames: ask each person to send "
    "a message to @userinfobot on Telegram, which replies with their id"
)


def _user_ids(value: object) -> object:
    """Accept `123,456` (as people write it in .env files) as well as a list."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        wrong = [part for part in parts if part and not part.lstrip("-").isdigit()]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} is not a user id. {FIND_USER_ID}")
        return [int(part) for part in parts if part]
    if isinstance(value, int):
        return [value]
    return value


UserIds = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Everything a deployment can set; see `.env.example` for each one in plain words."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=".env",
        extra="ignore",
        frozen=True,
        # `WHATMATTERS_BOT_TOKEN=` as copied from .env.example means "not set", like the rest.
        env_ignore_empty=True,
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
    # What people see before pressing Start; by default from the default flow, in its languages.
    bot_description: str | None = Field(default=None, max_length=512)
    bot_short_description: str | None = Field(default=None, max_length=120)
    # Webhook mode (long polling when no URL is set): the public HTTPS address Telegram posts
    # updates to, the address to listen on (HOST:PORT), and the secret Telegram sends with each.
    webhook_url: str | None = None
    listen: str = "0.0.0.0:8443"
    webhook_secret: SecretStr | None = None
    # Webhook mode only: how many worker processes `whatmatters run` starts on this machine
    # (sharing the listening port; more than one needs PostgreSQL). Each process's name among
    # the workers is set by that supervisor, not by hand.
    workers: int = Field(default=1, ge=1, le=64)
    worker_name: str | None = None
    # The web dashboard: the address it listens on (HOST:PORT), and its public URL for the
    # sign-in links the bot sends.
    web_listen: str | None = None
    web_url: str | None = None

    _split_ids = field_validator("admins", "safeguarding_contacts", mode="before")(_user_ids)

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("should be 1 to 256 letters, digits, _ or - (Telegram's rule)")
        return value

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} should be HOST:PORT, such as 0.0.0.0:8443")
        return value

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
        return catalogue_for(self.themes)

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


def setting_name(field: str) -> str:
    """The environment variable of a settings field: `admins` is WHATMATTERS_ADMINS."""
    return f"{PREFIX}{field.upper()}"


# Pydantic's error types, said the way a person setting up the bot would say them.
_PLAIN_WORDS = {
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "greater_than_equal": "should be at least {ge}",
    "bool_parsing": "should be true or false",
    "path_type": "should be the path of a file",
    "string_type": "should be text",
    "string_too_long": "is {actual} characters long; Telegram takes at most {max_length}",
}


def explain(error: ValidationError) -> list[str]:
    """Each mistake in the settings as one line in the user's terms, naming the variable."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        name = setting_name(field) if field else "a setting"
        given = problem.get("input")
        if problem["type"] == "value_error":
            # Our own validators' words, without pydantic's "Value error, " in front.
            said = str(problem["ctx"]["error"]) if "ctx" in problem else problem["msg"]
        elif problem["type"] == "string_too_long":
            said = _PLAIN_WORDS["string_too_long"].format(
                actual=len(str(given)), **problem.get("ctx", {})
            )
        elif problem["type"] in _PLAIN_WORDS:
            said = _PLAIN_WORDS[problem["type"]].format(**problem.get("ctx", {}))
            said = f"is {given!r}, but {said}" if isinstance(given, str) else said
        else:
            said = problem["msg"]
        lines.append(f"{name}: {said}")
    return lines


# WHATMATTERS_ names that are no setting yet no mistake: switches of the test suite (CI exports
# WHATMATTERS_REQUIRE_POSTGRES for every command it runs).
NOT_SETTINGS = frozenset({"WHATMATTERS_REQUIRE_POSTGRES", "WHATMATTERS_SCREENSHOTS"})


def misspelt(environ: Mapping[str, str], env_file: Path | None) -> list[str]:
    """A warning for each WHATMATTERS_ name, in the environment or the .env file, that is no
    setting (a typing mistake would otherwise be silently ignored), naming the closest one."""
    known = [setting_name(field) for field in Settings.model_fields]
    found: dict[str, str] = dict.fromkeys(environ, "the environment")
    if env_file is not None and env_file.is_file():
        for name in _names_in(env_file):
            found.setdefault(name, str(env_file))
    warnings = []
    for name, where in found.items():
        if not name.upper().startswith(PREFIX) or name.upper() in (*known, *NOT_SETTINGS):
            continue
        # Compared without the prefix, which every name shares and would make all look alike.
        fields = [known_name.removeprefix(PREFIX) for known_name in known]
        close = difflib.get_close_matches(name.upper().removeprefix(PREFIX), fields, n=1)
        hint = f"did you mean {PREFIX}{close[0]}?" if close else "see .env.example for them all"
        warnings.append(f"{name} (in {where}) is not a whatmatters setting; {hint}")
    return warnings


def _names_in(env_file: Path) -> Iterable[str]:
    try:
        return list(dotenv_values(env_file))
    except (OSError, UnicodeDecodeError):
        return []
