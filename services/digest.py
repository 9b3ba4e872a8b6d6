"""The staff digest on Telegram: built from storage, rendered as HTML with a chart and a CSV.

Rendering is kept apart from aggregation (`insights.digest`) so the same digest can be printed
(`whatmatters digest preview`) or sent (`/digest`, `whatmatters digest send`, the weekly job).
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from insights.digest import TONES, Digest, ThemeSummary, build_digest, top_themes, trend_mark
from services.actions import loop_section
from storage import Actions, Answers, Clocked, OutboxQueue, StaffAndAudit
from storage.models import AnswerFact, OutgoingMessage

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WEEK = timedelta(days=7)
# Telegram's limit is 4,096 characters; leave room for the HTML tags counted differently.
MESSAGE_LIMIT = 4000
TONE_COLOURS = {"negative": "#d55e00", "neutral": "#999999", "positive": "#009e73"}


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def _dates(digest: Digest, zone: ZoneInfo) -> str:
    """The period as a chart's title says it: 16 Nov to 23 Nov 2026."""
    start, end = digest.start.astimezone(zone), digest.end.astimezone(zone)
    return f"{start.day} {start:%b} to {end.day} {end:%b %Y}"


def _change(now: int, before: int) -> str:
    mark = trend_mark(now, before)
    difference = now - before
    sign = "+" if difference > 0 else ""
    return f"{mark} {sign}{difference}" if mark != "new" else "new"


def _compared(digest: Digest) -> str:
    if not digest.previous_answers:
        return "none the week before"
    return (
        f"residents {_change(digest.residents, digest.previous_residents)}, "
        f"answers {_change(digest.answers, digest.previous_answers)} on the week before"
    )


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _theme_section(rank: int, theme: ThemeSummary) -> str:
    lines = [
        f"{rank}. <b>{html.escape(theme.name)}</b> — {_count(theme.count, 'answer')} "
        f"{theme.trend} · {_percent(theme.negative_share)} negative"
    ]
    for quote in theme.quotes:
        lines.append(f"   “<i>{html.escape(quote.text)}</i>” — {html.escape(quote.resident)}")
    return "\n".join(lines)


def render_sections(digest: Digest, zone: ZoneInfo) -> list[str]:
    """The digest as Telegram HTML sections, in reading order."""
    sections = [
        "<b>What residents told us this week</b>\n"
        f"{_day(digest.start, zone)} to {_day(digest.end, zone)}",
        f"<b>{_count(digest.residents, 'resident')}</b> gave "
        f"<b>{_count(digest.answers, 'answer')}</b> ({_compared(digest)}). "
        f"{_percent(digest.negative_share)} of written answers read negative.",
    ]
    if digest.held_back:
        sections[0] += (
            f"\n{_count(digest.held_back, 'answer')} showed a possible sign of risk and went to "
            "the safeguarding contacts; counted here, never quoted."
        )
    if digest.themes:
        sections.append("<b>Top themes</b> (▲ up, ▼ down, = about the same as the week before)")
        sections.extend(_theme_section(n, theme) for n, theme in enumerate(digest.themes, 1))
    else:
        sections.append("No themes this week.")
    if digest.emerging:
        listed = "\n".join(
            f"• {html.escape(phrase)} ({count})" for phrase, count in digest.emerging
        )
        sections.append(f"<b>Emerging</b> (said often, not in the theme list yet)\n{listed}")
    if digest.scales:
        listed = "\n".join(
            f"• {html.escape(scale.question.splitlines()[0])}: "
            f"<b>{scale.average:.1f}</b> out of 5 ({_count(scale.count, 'answer')})"
            for scale in digest.scales
        )
        sections.append(f"<b>Scores</b>\n{listed}")
    sections.extend(digest.extra_sections)
    sections.append("Send /theme NAME for more quotes on one theme.")
    return sections


def split_messages(sections: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join sections into as few messages as fit Telegram's limit, breaking between lines."""
    messages: list[str] = []
    current = ""
    for section in sections:
        for piece in _fit(section, limit):
            joined = f"{current}\n\n{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _fit(section: str, limit: int) -> list[str]:
    """A section longer than one message, cut between its lines (a line is never cut)."""
    if len(section) <= limit:
        return [section]
    pieces: list[str] = []
    current = ""
    for line in section.split("\n"):
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= limit:
            current = joined
        else:
            if current:
                pieces.append(current)
            current = line[:limit]
    if current:
        pieces.append(current)
    return pieces


def render_text(digest: Digest, zone: ZoneInfo) -> str:
    """The digest as plain text, for the terminal."""
    plain = "\n\n".join(render_sections(digest, zone))
    for tag in ("<b>", "</b>", "<i>", "</i>"):
        plain = plain.replace(tag, "")
    return html.unescape(plain)


def chart_png(digest: Digest, zone: ZoneInfo) -> bytes | None:
    """A bar chart of the top themes by tone, as PNG; None when there are no themes."""
    figure = chart_figure(digest, zone)
    if figure is None:
        return None
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Title": figure.axes[0].get_title()})
    return out.getvalue()


def chart_figure(digest: Digest, zone: ZoneInfo) -> Figure | None:
    """The chart as a matplotlib Figure: the title carries the dates and each bar its counts,
    since the picture is often forwarded on its own."""
    if not digest.themes:
        return None
    # Imported here: matplotlib is slow to import, and only the digest needs it. The Figure
    # class is used without pyplot, which keeps global state, so drawing is safe in a thread.
    from matplotlib.figure import Figure

    themes = list(reversed(digest.themes))
    figure = Figure(figsize=(7, 0.5 * len(themes) + 1.5), dpi=110)
    axes = figure.subplots()
    left = [0] * len(themes)
    for tone in TONES:
        counts = [theme.tones.get(tone, 0) for theme in themes]
        bars = axes.barh(
            [theme.name for theme in themes],
            counts,
            left=left,
            color=TONE_COLOURS[tone],
            label=tone,
        )
        axes.bar_label(bars, [str(n) if n else "" for n in counts], label_type="center")
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_xlabel("answers")
    axes.set_title(f"Themes by tone, {_dates(digest, zone)}")
    axes.legend(loc="lower right", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


# In place of an answer that carried a sign of risk: it went to the safeguarding contacts.
HELD_BACK = "(not quoted: passed to the safeguarding contacts)"


def answers_csv(facts: Sequence[AnswerFact], zone: ZoneInfo, redact: Callable[[str], str]) -> bytes:
    """The period's answers as CSV, redacted and under pseudonyms, for staff to open in a sheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["resident", "flow", "step", "question", "answer", "answered_at", "themes", "sentiment",
         "tone"]
    )  # fmt: skip
    for fact in facts:
        writer.writerow(
            [
                fact.resident,
                fact.flow,
                fact.step,
                fact.question,
                HELD_BACK if fact.held_back else redact(fact.answer),
                fact.answered_at.astimezone(zone).isoformat(timespec="seconds"),
                ";".join(fact.themes),
                "" if fact.sentiment is None else round(fact.sentiment, 3),
                fact.tone or "",
            ]
        )
    # A byte-order mark so that Excel, which many councils use, reads the file as UTF-8.
    return out.getvalue().encode("utf-8-sig")


class DigestStorage(Answers, StaffAndAudit, OutboxQueue, Actions, Clocked, Protocol):
    """What a digest needs: the period's answers, the staff, the digest's claim, the queue, and
    the actions of "you said, we did"."""


class Digests:
    """Builds digests from storage and queues them for staff through the outbox."""

    def __init__(
        self,
        storage: DigestStorage,
        zone: ZoneInfo,
        redact: Callable[[str], str],
        covered: Callable[[str], bool] = lambda phrase: False,
    ) -> None:
        self.storage = storage
        self.zone = zone
        self.redact = redact
        # Whether the theme catalogue covers a phrase: covered phrases are not "emerging".
        self.covered = covered

    async def build(self, end: datetime) -> Digest:
        """The digest of the week up to `end`."""
        start = end - WEEK
        figures = await self.storage.period_figures(start, end)
        quotes = {
            theme: await self.storage.quote_candidates(theme, start, end)
            for theme in top_themes(figures)
        }
        digest = build_digest(
            figures,
            await self.storage.period_figures(start - WEEK, start),
            quotes,
            start=start,
            end=end,
            redact=self.redact,
            covered=self.covered,
        )
        section = await loop_section(self.storage, start, end, self.redact)
        return replace(digest, extra_sections=(section,)) if section else digest

    async def _messages(self, key: str, end: datetime, chat_ids: Sequence[int]) -> list[Any]:
        """The digest of the week up to `end` as outbox messages to each chat."""
        digest = await self.build(end)
        facts = await self.storage.answers_between(digest.start, digest.end)
        # Drawing and redacting a week of answers takes a moment: off the event loop.
        chart, table = await asyncio.gather(
            asyncio.to_thread(chart_png, digest, self.zone),
            asyncio.to_thread(answers_csv, facts, self.zone, self.redact),
        )
        return [
            message
            for chat_id in chat_ids
            for message in self.messages_for(
                f"{key}:{chat_id}", digest, len(facts), chart, table, chat_id
            )
        ]

    def messages_for(
        self,
        key: str,
        digest: Digest,
        answers: int,
        chart: bytes | None,
        table: bytes,
        chat_id: int,
    ) -> list[OutgoingMessage]:
        """The digest as outbox messages to one chat: the text, the chart, the CSV."""
        texts = split_messages(render_sections(digest, self.zone))
        messages = [
            OutgoingMessage(f"{key}:text:{n}", chat_id, "sendMessage", text)
            for n, text in enumerate(texts)
        ]
        if chart is not None:
            messages.append(
                OutgoingMessage(
                    f"{key}:chart", chat_id, "sendPhoto", "Themes by tone", "themes.png", chart
                )
            )
        day = digest.end.astimezone(self.zone).date().isoformat()
        messages.append(
            OutgoingMessage(
                f"{key}:csv",
                chat_id,
                "sendDocument",
                f"The week's {answers} answers, redacted",
                f"answers-{day}.csv",
                table,
            )
        )
        return messages

    async def queue_for_all_staff(self, end: datetime) -> int:
        """Queue the digest of the week up to `end` for every member of staff, once only.

        The digest is claimed per period and marked queued in the same transaction as its
        messages, so the weekly job, a catch-up after downtime and a restart never queue it twice.
        """
        digest = await self.storage.claim_digest(end - WEEK, end)
        staff = await self._readers()
        if digest.queued or not staff:
            return 0  # with no one to read it yet, it waits for the first member of staff
        messages = await self._messages(f"digest:{digest.id}", end, staff)
        return await self.storage.enqueue_digest(digest.id, messages)

    async def queue_now_for_all_staff(self, end: datetime) -> int:
        """Queue the digest of the week up to `end` for every member of staff, as asked now."""
        stamp = end.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        messages = await self._messages(f"now:{stamp}", end, await self._readers())
        return await self.storage.enqueue(messages)

    async def queue_for(self, chat_id: int, end: datetime, request: int) -> int:
        """Queue the digest of the week up to `end` for one person who asked for it."""
        return await self.storage.enqueue(await self._messages(f"asked:{request}", end, [chat_id]))

    async def _readers(self) -> list[int]:
        return [m.chat_id for m in await self.storage.staff_members() if not m.blocked]


def last_scheduled(now: datetime, weekday: int, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The latest weekly moment (weekday, hour:minute in `zone`) at or before `now`."""
    local = now.astimezone(zone)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate -= timedelta(days=(local.weekday() - weekday) % 7)
    if candidate > local:
        candidate -= WEEK
    return candidate
