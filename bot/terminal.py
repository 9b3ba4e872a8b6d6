"""`whatmatters try`: a flow in the terminal, through the same engine and storage as the bot."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable, Sequence

from bot import wording
from bot.settings import Settings
from conversations.engine import Button, Input, Message, Press, State, Text, current_prompt
from services import build_services
from services.conversation import Conversations
from services.library import UnknownFlow
from services.safeguarding import Safeguard
from storage import Resident, shown

# The terminal resident is not a Telegram user; Telegram user ids are all positive.
TERMINAL_USER_ID = 0

Ask = Callable[[str], str]


def _numbered(buttons: Sequence[Button]) -> bool:
    """Whether buttons are pressed by their own numbers (a scale's 1–5) rather than by place:
    then a Skip beside them is typed as a word, never as a 6th number."""
    return any(b.label.isdigit() for b in buttons)


def render(messages: Sequence[Message]) -> str:
    """Messages as a resident would see them, with buttons numbered for typing."""
    lines = []
    for message in messages:
        for paragraph in message.text.splitlines() or [""]:
            lines.extend(textwrap.wrap(paragraph, 76, initial_indent="  ", subsequent_indent="  "))
            if not paragraph:
                lines.append("")
        if message.buttons and _numbered(message.buttons):
            choices = "   ".join(f"[{b.label}]" for b in message.buttons)
            lines.append(f"  {choices}")
        elif message.buttons:
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
    typed = line.strip()
    if _numbered(buttons):
        pressed = [b for b in buttons if b.label == typed]
        return Press(pressed[0].step_id, pressed[0].value) if pressed else Text(line)
    if typed.isdigit() and 1 <= int(typed) <= len(buttons):
        button = buttons[int(typed) - 1]
        return Press(button.step_id, button.value)
    return Text(line)


async def chat_in_terminal(
    settings: Settings,
    flow_id: str | None,
    ask: Ask = input,
    out: Callable[[str], None] = print,
    *,
    throwaway: bool = False,
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
            inp = _understand(line, messages)
            if command.startswith("/"):
                messages = await _command(command, resident, conversations, flow_id, out)
            elif isinstance(inp, Press) and inp.step_id == "_forget":
                messages = await _forget(inp.value == "yes", resident, conversations)
            elif isinstance(inp, Press) and inp.step_id.startswith(wording.LANGUAGE_BUTTON):
                chosen = inp.step_id.removeprefix(wording.LANGUAGE_BUTTON)
                messages = await conversations.choose_language(resident, inp.value, flow_id=chosen)
            else:
                messages = await conversations.handle(resident, inp)
        count = await storage.count_answers(resident.id)
    answers = f"{count} answer" if count == 1 else f"{count} answers"
    if throwaway:  # the folder it was in goes as soon as this returns
        out(f"({answers}, in a throwaway database now deleted; `try --keep` keeps them)")
    else:
        out(f"({answers} stored in {database})")
    return 0


async def _command(
    command: str,
    resident: Resident,
    conversations: Conversations,
    flow_id: str | None,
    out: Callable[[str], None],
) -> list[Message]:
    """A resident's command, answered as the bot answers it in Telegram."""
    name = command.split()[0]
    storage, library = conversations.storage, conversations.library
    if name == "/start":
        return await conversations.start(resident, flow_id=flow_id)
    if name == "/stop":
        return await conversations.stop(resident)
    if name == "/help":
        # In Telegram the question stays on screen above; here it has scrolled away.
        return [Message(wording.HELP), *await _where(resident, conversations)]
    if name == "/mydata":
        data = await storage.personal_data(resident)
        out(render([Message(wording.MY_DATA), Message("(the file my-data.json:)")]))
        out(textwrap.indent(json.dumps(data, indent=2, ensure_ascii=False), "    "))
        return list(await _where(resident, conversations))
    if name == "/forgetme":
        return [wording.FORGET_CONFIRM]
    if name == "/language":
        flow, current = await conversations.languages(resident)
        if len(flow.languages) < 2:
            return [Message(wording.ONE_LANGUAGE), *await _where(resident, conversations)]
        others = [code for code in flow.languages if code != (current or flow.languages[0])]
        return [wording.language_picker(flow.id, others)]
    entered = await library.by_command(name)
    if entered is not None:
        return await conversations.start(resident, flow_id=entered)
    return [Message(wording.UNKNOWN_COMMAND), *await _where(resident, conversations)]


async def _where(resident: Resident, conversations: Conversations) -> tuple[Message, ...]:
    """The question the resident is on, to show again (nothing outside a conversation)."""
    session = await conversations.storage.active_session(resident.id)
    if session is None or resident.stopped:
        return ()
    flow = await conversations.library.get(session.flow_id, session.flow_version)
    return current_prompt(flow, State.model_validate_json(session.state))


async def _forget(
    confirmed: bool, resident: Resident, conversations: Conversations
) -> list[Message]:
    """Delete everything of the resident's, as `/forgetme` does once confirmed, or keep it."""
    if not confirmed:
        return [Message(wording.FORGET_KEPT), *await _where(resident, conversations)]
    await conversations.storage.forget(resident)
    await conversations.storage.audit(0, "resident data deleted at their request")
    return [Message(wording.FORGOTTEN)]
