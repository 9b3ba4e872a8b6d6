"""`whatmatters try`: a flow in the terminal, through the same engine and storage as the bot."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable, Sequence

from bot import wording
from bot.settings import Settings
from conversations.engine import Input, Message, Press, Text
from services import build_services
from services.conversation import Conversations
from services.library import UnknownFlow
from services.safeguarding import Safeguard
from storage import shown

# The terminal resident is not a Telegram user; Telegram user ids are all positive.
TERMINAL_USER_ID = 0

Ask = Callable[[str], str]


def render(messages: Sequence[Message]) -> str:
    """Messages as a resident would see them, with buttons numbered for typing."""
    lines = []
    for message in messages:
        for paragraph in message.text.splitlines() or [""]:
            lines.extend(textwrap.wrap(paragraph, 76, initial_indent="  ", subsequent_indent="  "))
            if not paragraph:
                lines.append("")
        if message.buttons:
            choices = "   ".join(
                f"[{n}]" if b.label == str(n) else f"[{n}] {b.label}"
                for n, b in enumerate(message.buttons, 1)
            )
            lines.append(f"  {choices}")
        lines.append("")
    return "\n".join(lines)


def _understand(line: str, last: Sequence[Message]) -> Input:
    """A typed number picks the matching button of the last question; anything else is text."""
    buttons = [b for m in last for b in m.buttons]
    if line.strip().isdigit() and 1 <= int(line) <= len(buttons):
        button = buttons[int(line) - 1]
        return Press(button.step_id, button.value)
    return Text(line)


async def chat_in_terminal(
    settings: Settings,
    flow_id: str | None,
    ask: Ask = input,
    out: Callable[[str], None] = print,
) -> int:
    """Chat with a flow until it ends or the person types /quit (or presses Ctrl-D)."""
    database = shown(settings.database)  # a URL's password is not printed
    async with build_services(settings) as services:
        storage = services.storage
        # Residents' side only: the help a sign of risk brings is shown, nobody is alerted.
        safeguard = Safeguard(settings, storage, services.safeguard.signs, alert_contacts=False)
        conversations = Conversations(storage, services.library, services.analyser, safeguard)
        resident = await storage.resident(TERMINAL_USER_ID, TERMINAL_USER_ID)
        out("Type your answers; type a number to press a button. /stop, /help, /quit.\n")
        try:
            messages = await conversations.start(resident, flow_id=flow_id)
        except UnknownFlow as error:
            out(f"whatmatters: {error}")
            return 1
        while True:
            out(render(messages))
            resident = await storage.resident(TERMINAL_USER_ID, TERMINAL_USER_ID)
            if await storage.active_session(resident.id) is None and not resident.stopped:
                break  # the flow has ended
            try:
                line = await asyncio.to_thread(ask, "you> ")
            except (EOFError, KeyboardInterrupt):
                out("")
                break
            command = line.strip().lower()
            if command == "/quit":
                break
            if command == "/start":
                messages = await conversations.start(resident, flow_id=flow_id)
            elif command == "/stop":
                messages = await conversations.stop(resident)
            elif command == "/help":
                messages = [Message(wording.HELP)]
            else:
                messages = await conversations.handle(resident, _understand(line, messages))
        count = await storage.count_answers(resident.id)
        out(f"({count} answers stored in {database})")
    return 0
