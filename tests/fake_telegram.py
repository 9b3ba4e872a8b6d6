"""A local Telegram Bot API server on 127.0.0.1 for end-to-end tests, and a driver that plays
residents writing to the bot through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import html
import itertools
import json
import random
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

JSONDict = dict[str, Any]

BOT_ID = 4242
BOT_USERNAME = "whatmatters_test_bot"
BOT_FIRST_NAME = "WhatMatters"
FIRST_UPDATE_ID = 1000
DEFAULT_GROUP_ID = -100123

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

# Webhook delivery: simultaneous posts when setWebhook gives no max_connections (Telegram's
# default), the range it clamps max_connections to, and the pause before a failed post is retried.
DEFAULT_MAX_CONNECTIONS = 40
MAX_CONNECTIONS_RANGE = (1, 100)
WEBHOOK_RETRY_PAUSE = 0.2


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


BOT_USER: JSONDict = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}

# Telegram's default when a bot never chose `allowed_updates`.
_DEFAULT_ALLOWED = _words(
    "message edited_message channel_post edited_channel_post business_connection "
    "business_message edited_business_message deleted_business_messages inline_query "
    "chosen_inline_result callback_query shipping_query pre_checkout_query "
    "purchased_paid_media poll poll_answer my_chat_member chat_join_request chat_boost "
    "removed_chat_boost"
)

# Form fields that carry JSON (objects, arrays, numbers, booleans) rather than plain strings.
_JSON_FIELDS = _words(
    "reply_markup entities caption_entities commands scope allowed_updates "
    "link_preview_options reply_parameters media results menu_button reaction message_ids "
    "options chat_id from_chat_id message_id user_id offset limit timeout "
    "reply_to_message_id message_thread_id cache_time max_connections show_alert "
    "drop_pending_updates disable_notification protect_content "
    "allow_sending_without_reply disable_web_page_preview disable_content_type_detection "
    "show_caption_above_media has_spoiler allow_paid_broadcast"
)

_BLOCKABLE = _words(
    "sendMessage sendDocument sendPhoto sendChatAction editMessageText "
    "editMessageReplyMarkup editMessageCaption"
)

_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request (or a stored file the bot re-sent by file_id)."""

    filename: str
    data: bytes
    content_type: str


@dataclass(slots=True)
class Call:
    """One Bot API request as the server received it (`at` is `time.monotonic()`).

    `status`, `error` and `result` are filled in once the server has answered; `held` is how many
    seconds a hang (`hang`, or "hang" in `fail_randomly`) held it before that.
    """

    method: str
    params: dict[str, Any]
    at: float
    status: int | None = None
    error: str | None = None
    result: Any = None
    held: float = 0.0


@dataclass(frozen=True, slots=True)
class InlineButton:
    """One button of an inline keyboard."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent or edited, as seen by the chat.

    `text` is the text (or caption) exactly as the bot sent it, markup included; `plain` is what
    the resident would read with HTML/Markdown markup removed. `document` holds the bytes of a
    sendDocument/sendPhoto upload.
    """

    message_id: int
    chat_id: int
    text: str
    plain: str
    buttons: list[list[InlineButton]]
    parse_mode: str | None
    method: str
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    keyboard: list[list[str]] = field(default_factory=list)
    remove_keyboard: bool = False
    reply_to: int | None = None
    raw: JSONDict = field(default_factory=dict)
    at: float = 0.0

    @property
    def labels(self) -> list[str]:
        """The inline buttons' texts, row by row."""
        return [b.text for row in self.buttons for b in row]

    @property
    def edited(self) -> bool:
        """Whether this record is an edit of an earlier message."""
        return self.method.startswith("edit")

    def data_for(self, label: str) -> str | None:
        """The callback_data of the inline button labelled `label`."""
        for row in self.buttons:
            for button in row:
                if button.text == label:
                    return button.callback_data
        raise AssertionError(f"message {self.message_id} has no button {label!r}: {self.labels}")


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


# --------------------------------------------------------------------------------------------
# Markup: what Telegram accepts for parse_mode, and the text a resident would see


class MarkupError(ValueError):
    """Telegram's "can't parse entities" error."""


_HTML_TAGS = _words(
    "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote tg-time"
)
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)?((?:\s[^<>]*)?)>")


def render_html(text: str) -> str:
    """The visible text of an HTML-formatted message; raises MarkupError like Telegram would."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt == -1:
            out.append(html.unescape(text[pos:]))
            break
        out.append(html.unescape(text[pos:lt]))
        match = _HTML_TAG_RE.match(text, lt)
        offset = _byte_offset(text, lt)
        if match is None or match.group(2) is None:
            word = re.match(r"</?([^\s<>]*)", text[lt:])
            name = word.group(1) if word else ""
            if ">" not in text[lt:]:
                raise MarkupError(f"Can't find end of the tag starting at byte offset {offset}")
            raise MarkupError(f'Unsupported start tag "{name}" at byte offset {offset}')
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise MarkupError(f'Unsupported {kind} tag "{name}" at byte offset {offset}')
        if closing:
            if not stack:
                raise MarkupError(f"Unexpected end tag at byte offset {offset}")
            if stack[-1] != name:
                raise MarkupError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
        else:
            stack.append(name)
        pos = match.end()
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}


def render_markdown_v2(text: str) -> str:
    """The visible text of a MarkdownV2 message; raises MarkupError like Telegram would."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)

    def toggle(marker: str) -> None:
        for k in range(len(stack) - 1, -1, -1):
            if stack[k][0] == marker:
                del stack[k]
                return
        stack.append((marker, i))

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            out.append(text[i + 1])
            i += 2
            continue
        if c == "`":
            marker = "```" if text.startswith("```", i) else "`"
            j = i + len(marker)
            if marker == "```":
                newline = text.find("\n", j)
                if newline != -1 and not any(ch.isspace() for ch in text[j:newline]):
                    j = newline + 1
            buf: list[str] = []
            while j < n and not text.startswith(marker, j):
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            if j >= n:
                name = "Pre" if marker == "```" else "Code"
                raise MarkupError(
                    f"Can't find end of {name} entity at byte offset {_byte_offset(text, i)}"
                )
            out.extend(buf)
            i = j + len(marker)
            continue
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and text.startswith("**>", i):
            i += 3
            continue
        if at_line_start and c == ">":
            i += 1
            continue
        if c in "*~":
            toggle(c)
            i += 1
        elif c == "_":
            marker = "__" if text.startswith("__", i) else "_"
            toggle(marker)
            i += len(marker)
        elif c == "|" and text.startswith("||", i):
            toggle("||")
            i += 2
        elif c == "[" or (c == "!" and text.startswith("![", i)):
            stack.append(("[", i))
            i += 2 if c == "!" else 1
        elif c == "]" and stack and stack[-1][0] == "[":
            start = stack.pop()[1]
            if not text.startswith("(", i + 1):
                raise MarkupError(
                    f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, start)}"
                )
            j = i + 2
            while j < n and text[j] != ")":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise MarkupError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i + 2)}"
                )
            i = j + 1
        elif c in _MDV2_RESERVED:
            raise MarkupError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(c)
            i += 1
    if stack:
        marker, start = stack[-1]
        raise MarkupError(
            f"Can't find end of {_MDV2_NAMES.get(marker, 'the')} entity at byte offset "
            f"{_byte_offset(text, start)}"
        )
    return "".join(out)


def render_markdown(text: str) -> str:
    """The visible text of a legacy Markdown message; raises MarkupError like Telegram would."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        marker = "```" if text.startswith("```", i) else c
        if marker in ("*", "_", "`", "```"):
            end = text.find(marker, i + len(marker))
            if end == -1:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            out.append(text[i + len(marker) : end])
            i = end + len(marker)
        elif c == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            out.append(text[i + 1 : end])
            i = end + 1
            if text.startswith("(", i):
                close = text.find(")", i)
                i = n if close == -1 else close + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def render(text: str, parse_mode: str | None) -> str:
    """The text a resident sees for `text` sent with `parse_mode` (None: plain text)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return render_html(text)
    if mode == "markdownv2":
        return render_markdown_v2(text)
    if mode == "markdown":
        return render_markdown(text)
    return text


# --------------------------------------------------------------------------------------------
# Small synchronisation helper


class _Signal:
    """Wakes every waiter when fired; waiters re-check their own condition (no polling)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, seconds: float) -> None:
        """Wait until fired or until `seconds` pass."""
        if seconds <= 0:
            return
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait until `predicate()` holds; False if it still does not after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await self.wait(remaining)
        return True


@dataclass(slots=True)
class _Pending:
    update_id: int
    update: JSONDict
    redelivery: bool = False
    delivered: bool = False
    queue: int | None = field(init=False)  # its chat, for webhook delivery (webhook_queue)

    def __post_init__(self) -> None:
        self.queue = webhook_queue(self.update)


@dataclass(slots=True)
class _BotMessage:
    """The current state of a message the bot sent."""

    raw: JSONDict
    source_text: str
    parse_mode: str | None
    markup: JSONDict | None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None


@dataclass(slots=True)
class _ChatLog:
    messages: list[SentMessage] = field(default_factory=list)
    signal: _Signal = field(default_factory=_Signal)
    failed_calls: list[Call] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Failure:
    code: int
    description: str
    retry_after: int | None


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    unique_id: str
    data: bytes
    file_path: str
    filename: str | None
    mime_type: str


def _default_description(code: int, retry_after: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return {
        400: "Bad Request: injected failure",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(code, "Injected failure")


def _decode_field(name: str, value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str) and name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _buttons_of(markup: JSONDict | None) -> list[list[InlineButton]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [
            InlineButton(
                text=str(b.get("text", "")), callback_data=b.get("callback_data"), url=b.get("url")
            )
            for b in row
        ]
        for row in markup["inline_keyboard"]
    ]


def _keyboard_of(markup: JSONDict | None) -> list[list[str]]:
    if not markup or "keyboard" not in markup:
        return []
    return [
        [str(b["text"]) if isinstance(b, dict) else str(b) for b in row]
        for row in markup["keyboard"]
    ]


def _check_markup(markup: Any) -> JSONDict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
            if not actions:
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


# --------------------------------------------------------------------------------------------
# The server


def _max_connections(value: Any) -> int:
    """setWebhook's max_connections as Telegram takes it: the default when not given, else
    clamped to MAX_CONNECTIONS_RANGE."""
    if value is None or value == "":
        return DEFAULT_MAX_CONNECTIONS
    low, high = MAX_CONNECTIONS_RANGE
    return min(max(int(value), low), high)


def text_update(update_id: int, user_id: int, text: str, first_name: str = "Sam") -> JSONDict:
    """A private text message as the Bot API delivers it, for tests that build updates
    themselves (a forged post, a stored update) rather than have a resident send one."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "text": text,
        },
    }


def webhook_queue(update: JSONDict) -> int | None:
    """The chat an update belongs to, for webhook delivery (one post at a time per chat): the
    `chat` of a message-like update, a callback query's message's chat or else its sender, the
    sender (`from`, `user`) of updates without a chat; None (one shared queue) when there is
    neither. Private chats have the user's id, so a resident's messages and presses share one."""
    for kind, value in update.items():
        if kind == "update_id" or not isinstance(value, dict):
            continue
        message = value.get("message")
        for holder in (value, message if isinstance(message, dict) else {}):
            chat = holder.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
        for field_name in ("from", "user"):
            sender = value.get(field_name)
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return int(sender["id"])
    return None


class FakeTelegram:
    """A Bot API server on 127.0.0.1; use as `async with FakeTelegram() as tg:`."""

    def __init__(self, token: str = "123:TEST") -> None:
        self._token = token
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._closed_signal = _Signal()

        self.calls: list[Call] = []
        self._calls_by_method: dict[str, list[Call]] = defaultdict(list)
        self._call_signals: dict[str, _Signal] = defaultdict(_Signal)

        self._next_update_id = FIRST_UPDATE_ID
        self.updates: dict[int, JSONDict] = {}
        self.pushed_at: dict[int, float] = {}
        self._pending: deque[_Pending] = deque()
        self._redeliveries: list[_Pending] = []
        self._updates_signal = _Signal()
        self._confirm_signal = _Signal()
        self._poll_generation = 0
        self._max_delivered = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_ALLOWED
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_max_connections = DEFAULT_MAX_CONNECTIONS
        # Each post of an update to the webhook: (update_id, the HTTP status that came back), in
        # the order the answers came (different chats' posts overlap; one chat's are in order).
        self.webhook_calls: list[tuple[int, int]] = []
        self._webhook_task: asyncio.Task[None] | None = None

        self._chats: dict[int, JSONDict] = {}
        self._message_ids: dict[int, int] = defaultdict(int)
        self._bot_messages: dict[int, dict[int, _BotMessage]] = defaultdict(dict)
        self._user_messages: dict[tuple[int, int], JSONDict] = {}
        self._logs: dict[int, _ChatLog] = defaultdict(_ChatLog)
        self.sent: list[SentMessage] = []
        self.deleted: list[tuple[int, int]] = []
        self._residents: dict[int, Resident] = {}

        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(7_000_000_001)
        self.callback_answers: dict[str, JSONDict] = {}
        self._open_callbacks: set[str] = set()
        self._commands: dict[str, list[JSONDict]] = {}
        self.bot_settings: dict[str, Any] = {}

        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._failures_after: dict[str, deque[_Failure]] = defaultdict(deque)
        self._hangs: dict[str, deque[float]] = defaultdict(deque)
        self._refused: set[str] = set()
        self._blocked: set[int] = set()
        self._random: random.Random | None = None
        self._random_methods: frozenset[str] = frozenset()
        self._random_rate = 0.0
        self._random_kinds: tuple[int | str, ...] = ()
        self._random_retry_after = 1
        self._random_hang = 0.0

        # When True (default), parse_mode text that Telegram would reject answers 400.
        self.strict_markup = True

        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "setMyDescription": self._store_description("description", 512),
            "setMyShortDescription": self._store_description("short_description", 120),
            "setMyName": self._store_setting("name"),
            "setChatMenuButton": self._store_setting("menu_button"),
            "getChatMenuButton": lambda _p: self.bot_settings.get(
                "menu_button", {"type": "default"}
            ),
        }
        self._method_names = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._webhook_task = asyncio.create_task(self._post_to_webhook())

    async def stop(self) -> None:
        """Answer every waiting long poll and hang, then stop the server."""
        self._closing = True
        self._updates_signal.fire()
        self._closed_signal.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def token(self) -> str:
        """The bot token the server accepts."""
        return self._token

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For PTB's `base_url` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's `base_file_url` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def api_url(self) -> str:
        """The full method prefix, `http://127.0.0.1:PORT/bot<token>/`."""
        return f"{self.base_url}{self._token}/"

    # -- call records --------------------------------------------------------------------------

    def method_name(self, method: str) -> str:
        """The canonical spelling of a Bot API method this server knows; ValueError otherwise."""
        try:
            return self._method_names[method.lower()]
        except KeyError:
            raise ValueError(f"FakeTelegram does not implement {method!r}") from None

    def calls_to(self, method: str) -> list[Call]:
        """The calls received for `method` (any spelling), oldest first."""
        return self._calls_by_method.get(self.method_name(method), [])

    async def wait_for_call(self, method: str, timeout: float = 5.0, count: int = 1) -> Call:  # noqa: ASYNC109
        """Wait until `method` has been called `count` times in all; return the count-th call."""
        name = self.method_name(method)
        calls = self._calls_by_method[name]
        if not await self._call_signals[name].wait_until(lambda: len(calls) >= count, timeout):
            recent = ", ".join(c.method for c in self.calls[-10:]) or "none"
            raise TimeoutError(
                f"{name} was called {len(calls)} time(s) within {timeout}s, expected {count}; "
                f"last calls: {recent}"
            )
        return calls[count - 1]

    async def wait_until_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait for the bot's first getUpdates; updates pushed before it may be dropped."""
        await self.wait_for_call("getUpdates", timeout=timeout)

    # -- faults --------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this error (429: retry_after, def. 1)."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        failure = _Failure(
            error_code, description or _default_description(error_code, retry_after), retry_after
        )
        self._failures[self.method_name(method)].extend([failure] * times)

    def fail_randomly(
        self,
        methods: Iterable[str],
        rate: float,
        seed: int = 0,
        kinds: Sequence[int | str] = (429, 500, 502),
        *,
        retry_after: int = 1,
        hang_for: float = 6.0,
    ) -> None:
        """Make each call of `methods` fail with probability `rate`, a fault from `kinds`.

        A kind is an error code to answer with (429 carries `retry_after`), or "hang": hold the
        call `hang_for` seconds, then handle it normally, so a send still happens even if the
        client gave up waiting, as with a slow Telegram.
        """
        unknown = [kind for kind in kinds if isinstance(kind, str) and kind != "hang"]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; use error codes or 'hang'")
        self._random = random.Random(seed)
        self._random_methods = frozenset(self.method_name(m) for m in methods)
        self._random_rate = rate
        self._random_kinds = tuple(kinds)
        self._random_retry_after = retry_after
        self._random_hang = hang_for

    def fail_after_delivering(self, method: str, error_code: int, times: int = 1) -> None:
        """Carry out the next `times` calls of `method` (the message is sent), then answer with
        this error instead of the result, as a proxy in front of Telegram may."""
        failure = _Failure(error_code, _default_description(error_code, None), None)
        self._failures_after[self.method_name(method)].extend([failure] * times)

    def answer_with(self, method: str, result: Any) -> None:
        """Answer every call of `method` with `result` as it is (a server that is not quite
        the Bot API)."""
        self._handlers[self.method_name(method)] = lambda _params: result

    def hang(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the next `times` calls of `method` for `seconds` before handling them normally."""
        self._hangs[self.method_name(method)].extend([seconds] * times)

    def refuse(self, method: str) -> None:
        """Answer every call of `method` with 400 "Bad Request: method refused"."""
        self._refused.add(self.method_name(method))

    def block(self, user_id: int) -> None:
        """Answer sends and edits to this user's chat with 403 "bot was blocked by the user"."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """Undo `block`."""
        self._blocked.discard(user_id)

    def clear_faults(self) -> None:
        """Forget injected failures, random failures, hangs and refusals (not blocks)."""
        self._failures.clear()
        self._failures_after.clear()
        self._hangs.clear()
        self._refused.clear()
        self._random = None

    # -- updates -------------------------------------------------------------------------------

    def push_update(self, payload: JSONDict) -> int:
        """Queue an update (without update_id) for the bot; return its new update_id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **payload}
        self.updates[update_id] = update
        self.pushed_at[update_id] = time.monotonic()
        if any(key in self._allowed_updates for key in payload):
            self._pending.append(_Pending(update_id, update))
            self._updates_signal.fire()
        return update_id

    def redeliver(self, update_id: int) -> None:
        """Deliver an earlier update again, same update_id and payload, even if confirmed."""
        self._redeliveries.append(_Pending(update_id, self.updates[update_id], redelivery=True))
        self._updates_signal.fire()

    @property
    def pending_updates(self) -> list[int]:
        """The update ids the bot has not confirmed yet, in delivery order."""
        ids = [p.update_id for p in self._pending] + [p.update_id for p in self._redeliveries]
        return sorted(ids)

    def is_confirmed(self, update_id: int) -> bool:
        """Whether the bot confirmed `update_id` and every update before it (a later getUpdates
        offset passed it, or, by webhook, each got 200: posts to different chats may be answered
        out of order, so a later update can be done while this says False)."""
        if any(p.update_id == update_id for p in self._redeliveries):
            return False
        return not self._pending or self._pending[0].update_id > update_id

    def is_fetched(self, update_id: int) -> bool:
        """Whether a getUpdates answer has carried `update_id`."""
        return self._max_delivered >= update_id

    async def wait_until_confirmed(
        self,
        update_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot confirmed `update_id` (default: everything pushed so far)."""
        target = self._next_update_id - 1 if update_id is None else update_id
        if not await self._confirm_signal.wait_until(lambda: self.is_confirmed(target), timeout):
            raise TimeoutError(
                f"update {target} not confirmed within {timeout}s; pending: "
                f"{self.pending_updates[:20]}"
            )

    # -- files ---------------------------------------------------------------------------------

    def add_file(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str = "application/octet-stream",
        kind: str = "documents",
    ) -> str:
        """Store a file as if a resident uploaded it; return its file_id for getFile."""
        number = next(self._file_counter)
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        stored = _StoredFile(
            file_id=f"FAKEFILE{number:06d}x{kind}",
            unique_id=f"UNIQ{number:06d}",
            data=data,
            file_path=f"{kind}/file_{number}{suffix}",
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored.file_id

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes stored under `file_id`."""
        return self._files[file_id].data

    def _file_dict(self, file_id: str) -> JSONDict:
        stored = self._files[file_id]
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }

    # -- chats and messages --------------------------------------------------------------------

    def resident(
        self,
        user_id: int,
        first_name: str = "Sam",
        language_code: str | None = "en",
        username: str | None = None,
    ) -> Resident:
        """The resident with this Telegram user id (the same object on every call)."""
        if user_id not in self._residents:
            self._residents[user_id] = Resident(self, user_id, first_name, language_code, username)
        return self._residents[user_id]

    def add_chat(self, chat: JSONDict) -> None:
        """Make a chat known, so the bot can send to it."""
        self._chats[int(chat["id"])] = chat

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent or edited in this chat, oldest first."""
        return self._logs[chat_id].messages

    async def wait_for_message(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """Wait until this chat holds `count` bot messages in all; return the count-th."""
        log = self._logs[chat_id]
        if not await log.signal.wait_until(lambda: len(log.messages) >= count, timeout):
            raise AssertionError(
                f"chat {chat_id} got {len(log.messages)} bot message(s) within {timeout}s, "
                f"expected {count}"
            )
        return log.messages[count - 1]

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The bot's command list for a scope (default scope) and language."""
        return self._commands.get(self._commands_key(scope, language_code), [])

    def next_message_id(self, chat_id: int) -> int:
        """A fresh message id in this chat (ids are shared by both sides, as on Telegram)."""
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    def bot_message(self, chat_id: int, message_id: int) -> JSONDict:
        """The current Message object of a bot message."""
        return self._bot_messages[chat_id][message_id].raw

    # -- HTTP ----------------------------------------------------------------------------------

    @staticmethod
    def _json(body: JSONDict, status: int = 200) -> web.Response:
        return web.Response(
            body=json.dumps(body).encode(), status=status, content_type="application/json"
        )

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        with value.file as handle:
                            data = handle.read()
                        params[name] = UploadedFile(value.filename, data, value.content_type)
                    else:
                        params[name] = value
        params = {name: _decode_field(name, value) for name, value in params.items()}
        for name, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = params.pop(value.removeprefix("attach://"), None)
                if isinstance(part, UploadedFile):
                    params[name] = part
        return params

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return self._json(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        try:
            params = await self._read_params(request)
        except ConnectionResetError:
            # The bot died (SIGKILL) while sending the request: there is nobody to answer, and
            # nothing was asked of Telegram.
            return web.Response(status=499)
        name = self._method_names.get(request.match_info["method"].lower())
        call = Call(name or request.match_info["method"], params, time.monotonic())
        self.calls.append(call)
        if name is None:
            call.status, call.error = 404, "Not Found: method not found"
            return self._json(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        self._calls_by_method[name].append(call)
        self._call_signals[name].fire()
        try:
            try:
                result = await self._answer(call, name, params)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ApiError(
                    400, f"Bad Request: FakeTelegram could not handle it: {exc!r}"
                ) from exc
        except ApiError as error:
            call.status, call.error = error.code, error.description
            chat_id = params.get("chat_id")
            if isinstance(chat_id, int):
                self._logs[chat_id].failed_calls.append(call)
            return self._json(error.body(), status=error.code)
        call.status, call.result = 200, result
        return self._json({"ok": True, "result": result})

    async def _hold(self, call: Call, seconds: float) -> None:
        started = time.monotonic()
        if not self._closing:
            await self._closed_signal.wait(seconds)
        call.held += time.monotonic() - started

    async def _answer(self, call: Call, name: str, params: JSONDict) -> Any:
        hangs = self._hangs.get(name)
        if hangs:
            await self._hold(call, hangs.popleft())
        if name in self._refused:
            raise ApiError(400, "Bad Request: method refused")
        failures = self._failures.get(name)
        if failures:
            failure = failures.popleft()
            raise ApiError(failure.code, failure.description, failure.retry_after)
        if (
            self._random is not None
            and name in self._random_methods
            and self._random.random() < self._random_rate
        ):
            kind = self._random.choice(self._random_kinds)
            if kind == "hang":
                await self._hold(call, self._random_hang)
            else:
                code = int(kind)
                retry_after = self._random_retry_after if code == 429 else None
                raise ApiError(code, _default_description(code, retry_after), retry_after)
        if name in _BLOCKABLE and params.get("chat_id") in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if name == "getUpdates":
            return await self._get_updates(params)
        result = self._handlers[name](params)
        after = self._failures_after.get(name)
        if after:
            failure = after.popleft()
            raise ApiError(failure.code, failure.description, failure.retry_after)
        return result

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return self._json(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return self._json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return web.Response(body=stored.data, content_type=stored.mime_type)

    # -- getUpdates ----------------------------------------------------------------------------

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_ALLOWED
        # A newer poll ends an older one with 409, like Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.fire()
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self._take(limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            await self._updates_signal.wait(remaining)

    async def _post_to_webhook(self) -> None:
        """Telegram's side of a webhook: post waiting updates with the secret header, up to
        `webhook_max_connections` at once, but each chat's (`webhook_queue`) one at a time and in
        update_id order: a chat's next update goes only once the one before got 200. Anything
        else than 200 (or no answer) is posted again after WEBHOOK_RETRY_PAUSE."""
        timeout = aiohttp.ClientTimeout(total=10)
        posting: dict[int | None, asyncio.Task[None]] = {}  # by queue, at most one each
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                for _ in range(10_000_000):  # bounded: ends with the server
                    if self._closing:
                        return
                    for queue, task in list(posting.items()):
                        if task.done():
                            del posting[queue]
                            task.result()  # an unexpected error ends delivery; stop() raises it
                    room = self.webhook_max_connections - len(posting)
                    for queue, entry in self._next_to_post(set(posting), room):
                        posting[queue] = asyncio.create_task(
                            self._post_update(session, entry, self.webhook_url, self.webhook_secret)
                        )
                    # Woken by a push, a redelivery, setWebhook, or a post that finished.
                    await self._updates_signal.wait(0.5)
            finally:
                for task in posting.values():
                    task.cancel()
                await asyncio.gather(*posting.values(), return_exceptions=True)

    def _next_to_post(self, busy: set[int | None], room: int) -> list[tuple[int | None, _Pending]]:
        """The oldest waiting update of each queue that has none in flight, oldest first, at most
        `room` of them."""
        if not self.webhook_url or room <= 0:
            return []
        chosen: list[tuple[int | None, _Pending]] = []
        taken = set(busy)
        redeliveries = sorted(self._redeliveries, key=lambda p: p.update_id)
        waiting = heapq.merge(self._pending, redeliveries, key=lambda p: p.update_id)
        for entry in waiting:
            queue = entry.queue
            if queue in taken:
                continue  # its chat has an earlier update still on its way
            taken.add(queue)
            chosen.append((queue, entry))
            if len(chosen) >= room:
                break
        return chosen

    async def _post_update(
        self, session: aiohttp.ClientSession, entry: _Pending, url: str, secret: str | None
    ) -> None:
        """Post one update once; forget it on 200, else pause before its chat may go again."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            try:
                async with session.post(url, json=entry.update, headers=headers) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            entry.delivered = True
            self._max_delivered = max(self._max_delivered, entry.update_id)
            self.webhook_calls.append((entry.update_id, status))
            if status == 200:
                self._forget(entry)
                self._confirm_signal.fire()
            else:
                await asyncio.sleep(WEBHOOK_RETRY_PAUSE)
        finally:
            self._updates_signal.fire()  # the queue is free again

    def _forget(self, entry: _Pending) -> None:
        """Drop `entry` (this very one) from the waiting updates, if it is still there (a
        drop_pending_updates may have gone first)."""
        if entry.redelivery:
            self._redeliveries = [p for p in self._redeliveries if p is not entry]
        else:
            for index, waiting in enumerate(self._pending):
                if waiting is entry:
                    del self._pending[index]
                    break

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        if offset > 0:
            confirmed = bool(pending and pending[0].update_id < offset)
            while pending and pending[0].update_id < offset:
                pending.popleft()
            kept = [p for p in self._redeliveries if not (p.delivered and p.update_id < offset)]
            if len(kept) != len(self._redeliveries):
                self._redeliveries = kept
                confirmed = True
            if confirmed:
                self._confirm_signal.fire()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            self._confirm_signal.fire()

    def _take(self, limit: int) -> list[JSONDict]:
        entries = list(itertools.islice(self._pending, limit))
        if self._redeliveries:
            entries = sorted(entries + self._redeliveries, key=lambda p: p.update_id)[:limit]
        if not entries:
            return []
        for entry in entries:
            entry.delivered = True
        self._max_delivered = max(self._max_delivered, entries[-1].update_id)
        return [entry.update for entry in entries]

    # -- method handlers -----------------------------------------------------------------------

    @staticmethod
    def _true(_params: JSONDict) -> bool:
        return True

    def _store_setting(self, key: str) -> Callable[[JSONDict], bool]:
        def handler(params: JSONDict) -> bool:
            self.bot_settings[key] = params.get(key)
            return True

        return handler

    def _store_description(self, key: str, limit: int) -> Callable[[JSONDict], bool]:
        """As Telegram keeps them: one per language_code ("description:cy"), the default under
        the bare key; longer than the limit is refused."""

        def handler(params: JSONDict) -> bool:
            text = params.get(key) or ""
            if len(text) > limit:
                raise ApiError(400, f"Bad Request: {key} is too long")
            language = params.get("language_code")
            self.bot_settings[f"{key}:{language}" if language else key] = text
            return True

        return handler

    @staticmethod
    def _get_me(_params: JSONDict) -> JSONDict:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = str(params.get("url") or "")
        self.webhook_secret = params.get("secret_token")
        self.webhook_max_connections = _max_connections(params.get("max_connections"))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_ALLOWED
        self._updates_signal.fire()
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        self.webhook_max_connections = DEFAULT_MAX_CONNECTIONS
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._redeliveries.clear()
        self._confirm_signal.fire()

    def _get_webhook_info(self, _params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending) + len(self._redeliveries),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
        return info

    def _chat(self, params: JSONDict) -> JSONDict:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self._chats:
            return self._chats[chat_id]
        raise ApiError(400, "Bad Request: chat not found")

    def _render_checked(self, text: str, parse_mode: str | None, limit: int, what: str) -> str:
        try:
            plain = render(text, parse_mode)
        except MarkupError as error:
            if self.strict_markup:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
            plain = text
        if _utf16_len(plain) > limit:
            raise ApiError(400, f"Bad Request: message {what} too long")
        return plain

    def _new_bot_message(self, chat: JSONDict, content: JSONDict, params: JSONDict) -> JSONDict:
        chat_id = int(chat["id"])
        reply_parameters = params.get("reply_parameters")
        reply_to = params.get("reply_to_message_id")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
        quoted: JSONDict | None = None
        if isinstance(reply_to, int):
            quoted = self._user_messages.get((chat_id, reply_to))
            if quoted is None and reply_to in self._bot_messages[chat_id]:
                quoted = self._bot_messages[chat_id][reply_to].raw
            if quoted is None and not (
                isinstance(reply_parameters, dict)
                and reply_parameters.get("allow_sending_without_reply")
            ):
                raise ApiError(400, "Bad Request: message to be replied not found")
        message: JSONDict = {
            "message_id": self.next_message_id(chat_id),
            "from": BOT_USER,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if quoted is not None:
            message["reply_to_message"] = {
                k: v for k, v in quoted.items() if k != "reply_to_message"
            }
        return message

    def _record_sent(self, chat_id: int, method: str, state: _BotMessage) -> SentMessage:
        markup = state.markup
        sent = SentMessage(
            message_id=int(state.raw["message_id"]),
            chat_id=chat_id,
            text=state.source_text,
            plain=str(state.raw.get("text", state.raw.get("caption", ""))),
            buttons=_buttons_of(markup),
            parse_mode=state.parse_mode,
            method=method,
            document=state.document,
            filename=state.filename,
            mime_type=state.mime_type,
            keyboard=_keyboard_of(markup),
            remove_keyboard=bool(markup and markup.get("remove_keyboard")),
            reply_to=state.raw.get("reply_to_message", {}).get("message_id"),
            raw=state.raw,
            at=time.monotonic(),
        )
        messages = self._bot_messages[chat_id]
        message_id = sent.message_id
        messages.pop(message_id, None)  # the most recently touched message goes last
        messages[message_id] = state
        self.sent.append(sent)
        log = self._logs[chat_id]
        log.messages.append(sent)
        log.signal.fire()
        return sent

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params)
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        plain = self._render_checked(text, parse_mode, MAX_TEXT, "is")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _check_markup(params.get("reply_markup"))
        content: JSONDict = {"text": plain}
        if markup is not None and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        raw = self._new_bot_message(chat, content, params)
        self._record_sent(chat["id"], "sendMessage", _BotMessage(raw, text, parse_mode, markup))
        return raw

    def _send_file(self, params: JSONDict, method: str, kind: str) -> JSONDict:
        chat = self._chat(params)
        value = params.get(kind)
        if isinstance(value, UploadedFile):
            upload = value
            file_id = self.add_file(
                upload.data,
                filename=upload.filename,
                mime_type=upload.content_type,
                kind="photos" if kind == "photo" else "documents",
            )
        elif isinstance(value, str) and value in self._files:
            file_id = value
            stored = self._files[value]
            upload = UploadedFile(stored.filename or "file", stored.data, stored.mime_type)
        else:
            raise ApiError(400, f"Bad Request: wrong file identifier/HTTP URL specified ({kind})")
        caption = str(params.get("caption") or "")
        parse_mode = params.get("parse_mode")
        plain = self._render_checked(caption, parse_mode, MAX_CAPTION, "caption is")
        markup = _check_markup(params.get("reply_markup"))
        content: JSONDict = {}
        if kind == "photo":
            content["photo"] = [{**self._file_dict(file_id), "width": 800, "height": 600}]
        else:
            content["document"] = {
                **self._file_dict(file_id),
                "file_name": upload.filename,
                "mime_type": upload.content_type,
            }
        if plain:
            content["caption"] = plain
        if markup is not None and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        raw = self._new_bot_message(chat, content, params)
        state = _BotMessage(
            raw, caption, parse_mode, markup, upload.data, upload.filename, upload.content_type
        )
        self._record_sent(chat["id"], method, state)
        return raw

    def _send_document(self, params: JSONDict) -> JSONDict:
        return self._send_file(params, "sendDocument", "document")

    def _send_photo(self, params: JSONDict) -> JSONDict:
        return self._send_file(params, "sendPhoto", "photo")

    def _editable(self, params: JSONDict) -> tuple[int, _BotMessage]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not supported by FakeTelegram")
        chat = self._chat(params)
        chat_id = int(chat["id"])
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        state = self._bot_messages[chat_id].get(message_id)
        if state is None:
            if (chat_id, message_id) in self._user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat_id, state

    def _edited(
        self,
        chat_id: int,
        state: _BotMessage,
        method: str,
        content: JSONDict,
        source_text: str,
        parse_mode: str | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        if (source_text, parse_mode, markup) == (state.source_text, state.parse_mode, state.markup):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        raw = {k: v for k, v in state.raw.items() if k != "reply_markup"}
        raw.update(content, edit_date=int(time.time()))
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        new_state = _BotMessage(
            raw,
            source_text,
            parse_mode,
            markup,
            state.document,
            state.filename,
            state.mime_type,
        )
        self._record_sent(chat_id, method, new_state)
        return raw

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        chat_id, state = self._editable(params)
        if "text" not in state.raw:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        plain = self._render_checked(text, parse_mode, MAX_TEXT, "is")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _check_markup(params.get("reply_markup"))
        return self._edited(
            chat_id, state, "editMessageText", {"text": plain}, text, parse_mode, markup
        )

    def _edit_message_caption(self, params: JSONDict) -> JSONDict:
        chat_id, state = self._editable(params)
        if "text" in state.raw:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = str(params.get("caption") or "")
        parse_mode = params.get("parse_mode")
        plain = self._render_checked(caption, parse_mode, MAX_CAPTION, "caption is")
        markup = _check_markup(params.get("reply_markup"))
        return self._edited(
            chat_id, state, "editMessageCaption", {"caption": plain}, caption, parse_mode, markup
        )

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        chat_id, state = self._editable(params)
        markup = _check_markup(params.get("reply_markup"))
        return self._edited(
            chat_id,
            state,
            "editMessageReplyMarkup",
            {},
            state.source_text,
            state.parse_mode,
            markup,
        )

    def _delete_message(self, params: JSONDict) -> bool:
        chat = self._chat(params)
        chat_id = int(chat["id"])
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        if (
            self._bot_messages[chat_id].pop(message_id, None) is None
            and self._user_messages.pop((chat_id, message_id), None) is None
        ):
            raise ApiError(400, "Bad Request: message to delete not found")
        self.deleted.append((chat_id, message_id))
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        scope = scope or {"type": "default"}
        return json.dumps([scope, language_code or ""], sort_keys=True)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not _BOT_COMMAND_NAME_RE.fullmatch(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = commands
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands(params.get("scope"), str(params.get("language_code") or ""))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _send_chat_action(self, params: JSONDict) -> bool:
        self._chat(params)
        return True

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {**self._file_dict(file_id), "file_path": self._files[file_id].file_path}


# --------------------------------------------------------------------------------------------
# The resident driver


class Resident:
    """A Telegram user writing to the bot in a private chat (chat id == user id)."""

    def __init__(
        self,
        tg: FakeTelegram,
        user_id: int,
        first_name: str,
        language_code: str | None,
        username: str | None,
    ) -> None:
        self.tg = tg
        self.user_id = user_id
        self.first_name = first_name
        self.user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            self.user["username"] = username
        if language_code:
            self.user["language_code"] = language_code
        self.chat: JSONDict = {"id": user_id, "first_name": first_name, "type": "private"}
        if username:
            self.chat["username"] = username
        tg.add_chat(self.chat)
        self.last_message_id: int | None = None
        self.message_ids: list[int] = []
        self.update_ids: list[int] = []
        self.last_callback_id: str | None = None
        self._read = 0

    @property
    def chat_id(self) -> int:
        """The private chat's id (equal to the user id)."""
        return self.user_id

    # -- sending -------------------------------------------------------------------------------

    def _push(self, payload: JSONDict) -> int:
        update_id = self.tg.push_update(payload)
        self.update_ids.append(update_id)
        return update_id

    def _message(self, chat: JSONDict, content: JSONDict) -> JSONDict:
        chat_id = int(chat["id"])
        message_id = self.tg.next_message_id(chat_id)
        message = {
            "message_id": message_id,
            "from": self.user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self.tg._user_messages[(chat_id, message_id)] = message
        if chat_id == self.chat_id:
            self.last_message_id = message_id
            self.message_ids.append(message_id)
        return message

    def _send_content(self, content: JSONDict) -> int:
        return self._push({"message": self._message(self.chat, content)})

    @staticmethod
    def text_content(text: str) -> JSONDict:
        """`text` plus the bot_command entities Telegram adds for `/commands`."""
        content: JSONDict = {"text": text}
        entities = [
            {
                "type": "bot_command",
                "offset": _utf16_len(text[: m.start()]),
                "length": _utf16_len(m.group()),
            }
            for m in _COMMAND_RE.finditer(text)
        ]
        if entities:
            content["entities"] = entities
        return content

    def send(self, text: str) -> int:
        """Send a text message; return the update_id."""
        return self._send_content(self.text_content(text))

    def send_sticker(self, emoji: str = "👍") -> int:
        """Send a sticker."""
        file_id = self.tg.add_file(b"RIFF-sticker", mime_type="image/webp", kind="stickers")
        sticker = {
            **self.tg._file_dict(file_id),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._send_content({"sticker": sticker})

    def send_photo(
        self, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg", caption: str | None = None
    ) -> int:
        """Send a photo (downloadable by the bot through getFile)."""
        file_id = self.tg.add_file(
            data, filename="photo.jpg", mime_type="image/jpeg", kind="photos"
        )
        sizes = [
            {**self.tg._file_dict(file_id), "width": 90, "height": 67},
            {**self.tg._file_dict(file_id), "width": 1280, "height": 960},
        ]
        content: JSONDict = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._send_content(content)

    def send_voice(self, data: bytes = b"OggS-fake-voice", duration: int = 3) -> int:
        """Send a voice note."""
        file_id = self.tg.add_file(data, mime_type="audio/ogg", kind="voice")
        voice = {**self.tg._file_dict(file_id), "duration": duration, "mime_type": "audio/ogg"}
        return self._send_content({"voice": voice})

    def send_video(self, data: bytes = b"fake-mp4", duration: int = 5) -> int:
        """Send a video."""
        file_id = self.tg.add_file(data, filename="video.mp4", mime_type="video/mp4", kind="videos")
        video = {
            **self.tg._file_dict(file_id),
            "width": 640,
            "height": 360,
            "duration": duration,
            "mime_type": "video/mp4",
        }
        return self._send_content({"video": video})

    def send_location(self, latitude: float = 51.5072, longitude: float = -0.1276) -> int:
        """Send a location."""
        return self._send_content({"location": {"latitude": latitude, "longitude": longitude}})

    def send_contact(
        self, phone_number: str = "+447700900123", first_name: str | None = None
    ) -> int:
        """Send a contact card (by default the resident's own)."""
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or self.first_name,
        }
        if first_name is None:
            contact["user_id"] = self.user_id
        return self._send_content({"contact": contact})

    def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int:
        """Send a file; the bot can download it through getFile."""
        file_id = self.tg.add_file(data, filename=filename, mime_type=mime_type)
        document = {**self.tg._file_dict(file_id), "file_name": filename, "mime_type": mime_type}
        content: JSONDict = {"document": document}
        if caption:
            content["caption"] = caption
        return self._send_content(content)

    def edit(self, message_id: int, text: str) -> int:
        """Edit an earlier text message of this resident: an `edited_message` update."""
        original = self.tg._user_messages.get((self.chat_id, message_id))
        if original is None:
            raise AssertionError(f"resident {self.user_id} sent no message {message_id}")
        edited = {k: v for k, v in original.items() if k not in ("text", "entities")}
        edited.update(self.text_content(text), edit_date=int(time.time()))
        self.tg._user_messages[(self.chat_id, message_id)] = edited
        return self._push({"edited_message": edited})

    def send_in_group(self, text: str, group_id: int = DEFAULT_GROUP_ID) -> int:
        """Send a text message in a group chat the bot is in."""
        chat = {"id": group_id, "title": "Test group", "type": "group"}
        self.tg.add_chat(chat)
        return self._push({"message": self._message(chat, self.text_content(text))})

    def block_bot(self) -> int:
        """Block the bot: sends to this chat answer 403, and the bot gets `my_chat_member`."""
        self.tg.block(self.user_id)
        return self._member_update("member", "kicked")

    def unblock_bot(self) -> int:
        """Unblock the bot (Telegram sends `my_chat_member` again)."""
        self.tg.unblock(self.user_id)
        return self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> int:
        def member(status: str) -> JSONDict:
            value: JSONDict = {"user": BOT_USER, "status": status}
            if status == "kicked":
                value["until_date"] = 0
            return value

        return self._push(
            {
                "my_chat_member": {
                    "chat": self.chat,
                    "from": self.user,
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # -- buttons -------------------------------------------------------------------------------

    def _current_bot_messages(self) -> list[_BotMessage]:
        """The bot's messages in this chat, most recently sent or edited first."""
        return list(reversed(self.tg._bot_messages[self.chat_id].values()))

    def press(self, label: str) -> int:
        """Press the inline button `label` on the latest bot message that shows it."""
        for state in self._current_bot_messages():
            for row in _buttons_of(state.markup):
                for button in row:
                    if button.text != label:
                        continue
                    if button.callback_data is None:
                        raise AssertionError(f"button {label!r} has no callback_data: {button}")
                    return self.press_data(int(state.raw["message_id"]), button.callback_data)
        shown = {
            int(s.raw["message_id"]): [b.text for row in _buttons_of(s.markup) for b in row]
            for s in self._current_bot_messages()
            if _buttons_of(s.markup)
        }
        raise AssertionError(
            f"resident {self.user_id}: no bot message shows a button {label!r}; "
            f"buttons shown (message_id: labels): {shown or 'none'}"
        )

    def press_data(self, message_id: int, data: str) -> int:
        """Send a callback_query for any message id and data (stale or forged presses)."""
        query_id = str(next(self.tg._callback_counter))
        self.tg._open_callbacks.add(query_id)
        self.last_callback_id = query_id
        query: JSONDict = {
            "id": query_id,
            "from": self.user,
            "chat_instance": f"{self.chat_id * 31 + 7}",
            "data": data,
        }
        state = self.tg._bot_messages[self.chat_id].get(message_id)
        if state is not None:
            query["message"] = state.raw
        else:
            # Telegram still sends the message; PTB takes a date of 0 as inaccessible.
            query["message"] = {"message_id": message_id, "chat": self.chat, "date": 0}
        return self._push({"callback_query": query})

    def last_buttons(self) -> list[str]:
        """Labels of the latest inline keyboard the bot shows this resident."""
        for state in self._current_bot_messages():
            buttons = _buttons_of(state.markup)
            if buttons:
                return [b.text for row in buttons for b in row]
        return []

    def last_keyboard(self) -> list[str]:
        """Labels of the reply keyboard currently shown (empty once removed)."""
        for sent in reversed(self.tg._logs[self.chat_id].messages):
            if sent.remove_keyboard:
                return []
            if sent.keyboard:
                return [label for row in sent.keyboard for label in row]
        return []

    # -- reading -------------------------------------------------------------------------------

    @property
    def messages(self) -> list[SentMessage]:
        """Every message the bot sent or edited in this chat, read or not."""
        return self.tg._logs[self.chat_id].messages

    def unread(self) -> list[SentMessage]:
        """Bot messages not read yet, now marked read."""
        messages = self.messages
        fresh = messages[self._read :]
        self._read = len(messages)
        return fresh

    def _diagnosis(self, timeout: float) -> str:
        log = self.tg._logs[self.chat_id]
        read = [m.plain[:30] for m in log.messages[max(0, self._read - 8) : self._read]]
        lines = [
            f"resident {self.user_id} ({self.first_name}) got no new bot message within "
            f"{timeout}s; read so far: {self._read}, the last ones: {read}"
        ]
        if log.failed_calls:
            failed = [f"{c.method} {c.status} {c.error!r}" for c in log.failed_calls[-5:]]
            lines.append(f"failed calls to this chat: {failed}")
        if self.update_ids:
            last = self.update_ids[-1]
            state = (
                "confirmed"
                if self.tg.is_confirmed(last)
                else "fetched"
                if self.tg.is_fetched(last)
                else "not yet fetched by the bot"
            )
            lines.append(f"this resident's last update {last} is {state}")
        return "; ".join(lines)

    async def reply(self, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The next bot message in this chat not read yet; AssertionError if none comes."""
        log = self.tg._logs[self.chat_id]
        if not await log.signal.wait_until(lambda: len(log.messages) > self._read, timeout):
            raise AssertionError(self._diagnosis(timeout))
        message = log.messages[self._read]
        self._read += 1
        return message

    async def replies(self, n: int, timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109
        """The next `n` unread bot messages, all within `timeout` seconds."""
        log = self.tg._logs[self.chat_id]
        if not await log.signal.wait_until(lambda: len(log.messages) >= self._read + n, timeout):
            got = len(log.messages) - self._read
            raise AssertionError(f"expected {n} replies, got {got}; " + self._diagnosis(timeout))
        messages = log.messages[self._read : self._read + n]
        self._read += n
        return messages

    async def no_reply(self, within: float = 0.5) -> None:
        """Assert that no new bot message arrives within `within` seconds."""
        log = self.tg._logs[self.chat_id]
        if await log.signal.wait_until(lambda: len(log.messages) > self._read, within):
            fresh = log.messages[self._read]
            raise AssertionError(
                f"resident {self.user_id} expected no reply but got "
                f"{fresh.method} {fresh.plain[:200]!r}"
            )
