"""An update whose handling never finishes (a call that never returns) is given up on, so that
the resident's next messages are not held behind it for ever (polling mode; the workers' own
watchdog is tested in test_workers.py)."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot import workers
from bot.app import OneAtATimePerResident
from tests.fake_telegram import text_update


def message_from(user_id: int, update_id: int) -> Update:
    update = Update.de_json(text_update(update_id, user_id, f"message {update_id}"), None)
    assert update is not None
    return update


async def test_an_update_that_never_finishes_is_given_up_and_the_next_is_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first message's handling hangs: after twice `STALLED` it is ended and handed to the
    error path (which apologises and marks it done) with where it waited; the resident's second
    message, waiting its turn behind it, is then handled."""
    monkeypatch.setattr(workers, "STALLED", 0.1)
    processor = OneAtATimePerResident()
    given_up: list[tuple[int, str]] = []
    handled: list[int] = []

    async def on_stalled(update: object, error: Exception) -> None:
        assert isinstance(update, Update)
        given_up.append((update.update_id, str(error)))

    async def hang() -> None:
        await asyncio.Event().wait()

    async def answer() -> None:
        handled.append(2)

    processor.on_stalled = on_stalled
    await asyncio.wait_for(
        asyncio.gather(
            processor.do_process_update(message_from(701, 1), hang()),
            processor.do_process_update(message_from(701, 2), answer()),
        ),
        timeout=5,
    )

    assert [update_id for update_id, _ in given_up] == [1]
    assert "at tests/test_bot_stalls.py:" in given_up[0][1]
    assert "in hang" in given_up[0][1]
    assert handled == [2]
    assert processor.waiting(701) == 0


async def test_an_update_that_finishes_in_time_is_not_touched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handling that takes a while but ends, and handling that fails, are as before: the error
    reaches python-telegram-bot, nothing is given up."""
    monkeypatch.setattr(workers, "STALLED", 0.5)
    processor = OneAtATimePerResident()
    given_up: list[object] = []

    async def on_stalled(update: object, error: Exception) -> None:
        given_up.append(update)

    async def slow() -> None:
        await asyncio.sleep(0.2)

    async def broken() -> None:
        raise ValueError("a handler's own error")

    processor.on_stalled = on_stalled
    await processor.do_process_update(message_from(702, 1), slow())
    with pytest.raises(ValueError, match="own error"):
        await processor.do_process_update(message_from(702, 2), broken())
    assert given_up == []
