"""`whatmatters backup` copies a running bot's database; `restore` waits until it is stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage import SQLiteStorage
from tests.fake_telegram import FakeTelegram
from tests.running_bot import BotProcess, said, settings_for


async def test_backup_while_running_and_restore_only_when_stopped(
    tg: FakeTelegram, database: Path
) -> None:
    """A backup of a running bot holds every answer; restore is refused until the bot stops."""
    process = BotProcess(tg, settings_for(tg, database))
    await process.start()
    copy = database.parent / "backup" / "copy.db"
    try:
        sam = tg.resident(501)
        sam.send("/start")
        await said(sam)
        sam.press("Yes")
        await said(sam)
        sam.send("A bench by the bus stop")
        await said(sam)
        status, out = await process.whatmatters("backup", str(copy))
        assert status == 0, out
        status, out = await process.whatmatters("restore", str(copy))
        assert status == 1
        assert "stop it first" in out
        sam.send("Another answer, after the backup")
        await said(sam)
    finally:
        assert await process.stop() == 0
    async with SQLiteStorage(copy) as backup:
        assert [row.answer for row in await backup.export_rows()] == ["A bench by the bus stop"]
    status, out = await process.whatmatters("restore", str(copy))
    assert status == 0, out
    async with SQLiteStorage(database) as restored:
        assert [row.answer for row in await restored.export_rows()] == ["A bench by the bus stop"]
    not_a_backup = database.parent / "notes.txt"
    not_a_backup.write_text("not a database", encoding="utf-8")
    status, out = await process.whatmatters("restore", str(not_a_backup))
    assert status == 1
    assert "not a whatmatters database; nothing was changed" in out


async def test_sigterm_finishes_cleanly_within_ten_seconds(
    tg: FakeTelegram, database: Path
) -> None:
    """SIGTERM: the bot answers what it has in hand and exits with status 0 within 10 s."""
    process = BotProcess(tg, settings_for(tg, database))
    await process.start()
    sam = tg.resident(501)
    sam.send("/start")
    await said(sam)
    started = asyncio.get_running_loop().time()
    assert await process.stop(timeout=10) == 0
    assert asyncio.get_running_loop().time() - started < 10
