"""The storage contract: what every backend promises (storage/interfaces.py), run over each one.

Only the Protocols' methods are used here, never SQL, so a new backend joins by adding its name
to BACKENDS and a branch to the `storage` fixture in conftest.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from storage import AlreadyHandled, NewAnswer, Storage, StorageError, Turn, UpdateStatus
from storage.models import (
    ASKED_FOR,
    URGENT,
    Action,
    Alert,
    Analysed,
    CorrectionCount,
    Listener,
    OutgoingMessage,
    PeriodFigures,
)
from storage.web_models import AnswerQuery
from tests.clock import HandClock

BACKENDS = ["sqlite", "postgres"]


def _turn(resident_id: int, session_id: int | None, **changes: object) -> Turn:
    fields: dict[str, object] = {
        "resident_id": resident_id,
        "session_id": session_id,
        "flow_id": "what-matters",
        "flow_version": 1,
        "step_id": "matters",
        "status": "active",
        "state": "{}",
    }
    fields.update(changes)
    return Turn(**fields)  # type: ignore[arg-type]


def _message(key: str, chat_id: int = 7, **changes: object) -> OutgoingMessage:
    return OutgoingMessage(key, chat_id, "sendMessage", key, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("storage", BACKENDS, indirect=True)
class TestStorageContract:
    """Every backend keeps the promises of storage/interfaces.py."""

    # Inbox ----------------------------------------------------------------------------------

    async def test_an_update_is_recorded_once_by_its_id(self, storage: Storage) -> None:
        """Recording an update again keeps the first copy and reports it still to process; a
        batch reports which of its updates are new."""
        assert (await storage.record_update(9, '{"first": 1}')).status == UpdateStatus.NEW
        assert (await storage.record_update(9, '{"again": 2}')).status == UpdateStatus.UNPROCESSED
        assert await storage.record_updates([(9, '{"third": 3}'), (10, "{}")]) == {10}
        kept = await storage.unfinished_updates()
        assert [(stored.update_id, stored.payload) for stored in kept] == [
            (9, '{"first": 1}'),
            (10, "{}"),
        ]

    async def test_an_update_recorded_but_not_processed_is_processed_again(
        self, storage: Storage
    ) -> None:
        """An update kept before a crash, but not processed, is reported as still to do."""
        assert (await storage.record_update(9, "{}")).status == UpdateStatus.NEW
        assert (await storage.record_update(9, "{}")).status == UpdateStatus.UNPROCESSED

    async def test_a_reply_is_queued_and_its_update_done_together(self, storage: Storage) -> None:
        """enqueue_reply queues the messages and marks the update processed and replied."""
        await storage.record_update(3, "{}")
        await storage.enqueue_reply(3, [_message("mydata:3")])
        assert (await storage.record_update(3, "{}")).status == UpdateStatus.DONE
        assert [message.key for message in await storage.claim_due()] == ["mydata:3"]
        assert await storage.unfinished_updates() == []

    # Sessions and answers -------------------------------------------------------------------

    async def test_a_resident_keeps_one_pseudonym(self, storage: Storage) -> None:
        """The same Telegram user is always the same resident, under a random pseudonym."""
        first = await storage.resident(111, 111)
        again = await storage.resident(111, 111)
        other = await storage.resident(222, 222)
        assert first.id == again.id
        assert first.pseudonym == again.pseudonym
        assert first.pseudonym != other.pseudonym
        assert "111" not in first.pseudonym

    async def test_a_turn_commits_answer_session_and_update_together(
        self, storage: Storage
    ) -> None:
        """An answer, the session's new step and the update being processed are stored as one."""
        resident = await storage.resident(111, 111)
        assert (await storage.record_update(5, "{}")).status == UpdateStatus.NEW
        session = await storage.save_turn(
            _turn(
                resident.id,
                None,
                step_id="next",
                answer=NewAnswer("matters", "What matters?", "The bins", follow_up_consent=True),
                update_id=5,
                replies="[]",
            )
        )
        assert (await storage.active_session(resident.id)) == session
        assert await storage.count_answers(resident.id) == 1
        assert (await storage.resident(111, 111)).follow_up_consent is True
        repeat = await storage.record_update(5, "{}")
        assert repeat.status == UpdateStatus.UNREPLIED
        assert repeat.replies == "[]"
        await storage.mark_replied(5)
        assert (await storage.record_update(5, "{}")).status == UpdateStatus.DONE

    async def test_an_update_already_processed_keeps_no_second_turn(self, storage: Storage) -> None:
        """Two workers that both took one update (one after its claim lapsed), committing at
        once: one turn is kept, the other is refused (AlreadyHandled) and changes nothing."""
        resident = await storage.resident(111, 111)
        await storage.record_update(8, "{}")

        def turn(text: str) -> Turn:
            return _turn(resident.id, None, answer=NewAnswer("a", "Q", text), update_id=8)

        outcomes = await asyncio.gather(
            storage.save_turn(turn("first")),
            storage.save_turn(turn("second")),
            return_exceptions=True,
        )
        assert sorted(type(outcome).__name__ for outcome in outcomes) == [
            "AlreadyHandled",
            "Session",
        ]
        assert await storage.count_answers(resident.id) == 1
        with pytest.raises(AlreadyHandled):
            await storage.save_turn(turn("third"))
        # A turn for an update never recorded (`whatmatters try`, an import) is kept as ever.
        await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("a", "Q", "fourth"), update_id=99)
        )
        assert await storage.count_answers(resident.id) == 2

    async def test_a_failed_turn_stores_nothing(self, storage: Storage) -> None:
        """If any part of a turn fails, neither the answer nor the session changes."""
        resident = await storage.resident(111, 111)
        await storage.record_update(7, "{}")
        await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("a", "Q", "x"), update_id=7)
        )
        with pytest.raises(StorageError):
            # The same update cannot carry a second answer.
            await storage.save_turn(
                _turn(resident.id, None, answer=NewAnswer("b", "Q", "y"), update_id=7)
            )
        assert await storage.count_answers() == 1
        session = await storage.active_session(resident.id)
        assert session is not None
        assert session.id == 1

    async def test_export_gives_pseudonyms_and_filters_by_time(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Export rows name residents by pseudonym only, and `since` leaves out older answers."""
        resident = await storage.resident(111, 111)
        session = await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("a", "Q1", "old"))
        )
        clock.now += timedelta(days=3)
        await storage.save_turn(_turn(resident.id, session.id, answer=NewAnswer("b", "Q2", "new")))
        rows = await storage.export_rows()
        assert [row.answer for row in rows] == ["old", "new"]
        assert {row.resident for row in rows} == {resident.pseudonym}
        recent = await storage.export_rows(since=clock.now - timedelta(days=1))
        assert [row.answer for row in recent] == ["new"]
        assert recent[0].answered_at == clock.now

    async def test_stopped_and_blocked_are_remembered(self, storage: Storage) -> None:
        """A resident's /stop and a blocked bot are stored, and can be undone."""
        resident = await storage.resident(111, 111)
        await storage.set_stopped(resident.id, True)
        await storage.set_blocked(resident.id, True)
        marked = await storage.resident(111, 111)
        assert (marked.stopped, marked.blocked) == (True, True)
        await storage.set_stopped(resident.id, False)
        assert (await storage.resident(111, 111)).stopped is False

    async def test_forgetting_a_resident_deletes_them_everywhere(self, storage: Storage) -> None:
        """After /forgetme nothing of the resident is left: answers, updates, messages, previews."""
        resident = await storage.resident(111, 111)
        await storage.record_update(
            4, '{"update_id": 4, "message": {"from": {"id": 111}, "text": "hi"}}'
        )
        await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("a", "Q", "The bins"), update_id=4)
        )
        await storage.enqueue([_message("reminder:1", 111, resident_id=resident.id)])
        await storage.start_preview(111, "what-matters", "id: what-matters\n", "{}")
        await storage.forget(resident)
        assert await storage.count_answers() == 0
        assert await storage.unfinished_updates() == []
        assert (await storage.record_update(4, "{}")).status == UpdateStatus.NEW
        assert await storage.claim_due() == []
        assert await storage.preview(111) is None
        assert await storage.active_session(resident.id) is None
        assert (await storage.resident(111, 111)).pseudonym != resident.pseudonym

    async def test_retention_deletes_only_answers_older_than_the_period(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Answers (and raw messages) older than WHATMATTERS_RETENTION_DAYS go; newer ones stay."""
        from bot.app import apply_retention

        resident = await storage.resident(111, 111)
        await storage.record_update(1, "{}")
        session = await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("a", "Q", "old"))
        )
        clock.now += timedelta(days=700)
        await storage.save_turn(_turn(resident.id, session.id, answer=NewAnswer("b", "Q", "new")))
        clock.now += timedelta(days=31)  # the first answer is now 731 days old
        assert await apply_retention(storage, 730) == 1
        assert [row.answer for row in await storage.export_rows()] == ["new"]
        assert (await storage.record_update(1, "{}")).status == UpdateStatus.NEW
        assert await apply_retention(storage, 730) == 0

    async def test_retention_deletes_messages_sent_long_ago_from_the_outbox(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """A digest or alert that went out over the period ago goes; one still waiting stays."""
        from bot.app import apply_retention

        await storage.enqueue([_message("d:1:7")])
        (sent,) = await storage.claim_due()
        await storage.mark_sent(sent.id)
        clock.now += timedelta(days=731)
        await storage.enqueue([_message("d:2:7")])
        await apply_retention(storage, 730)
        assert [message.key for message in await storage.claim_due()] == ["d:2:7"]
        assert await storage.sent_keys() == []

    # Flows ----------------------------------------------------------------------------------

    async def test_publishing_a_flow_adds_a_version(self, storage: Storage) -> None:
        """Each publish makes a new version; the newest is live and older ones stay readable."""
        first = await storage.publish_flow("what-matters", "id: what-matters\n")
        second = await storage.publish_flow("what-matters", "id: what-matters # v2\n")
        assert (first.version, second.version) == (1, 2)
        live = await storage.live_flow("what-matters")
        assert live is not None
        assert live.version == 2
        old = await storage.flow_version("what-matters", 1)
        assert old is not None
        assert old.source == "id: what-matters\n"
        assert [f.version for f in await storage.live_flows()] == [2]

    async def test_rolling_back_walks_down_the_versions_and_a_draft_goes_on_top(
        self, storage: Storage
    ) -> None:
        """Roll-back makes the version below the live one live; a published draft is the newest."""
        for n in range(3):
            await storage.publish_flow("f", f"v{n + 1}")
        rolled = [await storage.roll_back("f") for _ in range(3)]
        assert [v.version if v else None for v in rolled] == [2, 1, None]
        await storage.save_draft("f", "v4", saved_by=1)
        assert await storage.drafted_flows() == {"f"}
        published = await storage.publish_draft("f")
        assert published is not None
        assert (published.version, published.source) == (4, "v4")
        assert await storage.draft("f") is None
        assert await storage.publish_draft("f") is None

    # Staff, audit and digests ---------------------------------------------------------------

    async def test_an_invite_is_spent_once(self, storage: Storage, clock: HandClock) -> None:
        """The first redemption of a code joins; a second one, or an expired code, does not."""
        await storage.create_invite("CODE", 900, clock.now + timedelta(days=1))
        joined = await storage.redeem_invite("CODE", 820, 820, "Priya")
        assert joined is not None
        assert joined.name == "Priya"
        assert await storage.redeem_invite("CODE", 821, 821, "Tom") is None
        await storage.create_invite("OLD", 900, clock.now - timedelta(seconds=1))
        assert await storage.redeem_invite("OLD", 821, 821, "Tom") is None
        assert [member.name for member in await storage.staff_members()] == ["Priya"]

    async def test_the_audit_log_keeps_actions_in_order(self, storage: Storage) -> None:
        """Audit entries come back oldest first, with who did what and the details."""
        await storage.audit(900, "invite", code="X")
        await storage.audit(0, "broadcast", residents=3)
        log = await storage.audit_log()
        assert [(entry.actor, entry.action, entry.detail) for entry in log] == [
            (900, "invite", {"code": "X"}),
            (0, "broadcast", {"residents": 3}),
        ]

    async def test_a_digest_is_claimed_once_per_period(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Claiming a period twice gives the same digest; once queued, it says so."""
        start, end = clock.now - timedelta(days=7), clock.now
        first = await storage.claim_digest(start, end)
        assert first.queued is False
        assert await storage.enqueue_digest(first.id, [_message("digest:1:7")]) == 1
        again = await storage.claim_digest(start, end)
        assert (again.id, again.queued) == (first.id, True)

    # Outbox ---------------------------------------------------------------------------------

    async def test_a_message_key_is_queued_once(self, storage: Storage) -> None:
        """Queuing a key already queued, or already sent, changes nothing."""
        assert await storage.enqueue([_message("k:1")]) == 1
        assert await storage.enqueue([_message("k:1")]) == 0
        (message,) = await storage.claim_due()
        await storage.mark_sent(message.id)
        assert await storage.enqueue([_message("k:1")]) == 0
        assert await storage.claim_due() == []
        assert await storage.sent_keys("k:") == ["k:1"]

    async def test_a_chat_gets_its_messages_in_order_and_only_urgent_ones_overtake(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """A chat's later message waits behind an earlier one being retried; an alert does not."""
        await storage.enqueue([_message("a"), _message("b"), _message("other", 8)])
        claimed = await storage.claim_due()
        assert [message.key for message in claimed] == ["a", "other"]
        first = claimed[0]
        await storage.postpone(first.id, clock.now + timedelta(seconds=30), "429")
        await storage.release([claimed[1].id])
        await storage.enqueue([_message("alert", priority=URGENT)])
        assert [message.key for message in await storage.claim_due()] == ["alert", "other"]
        clock.now += timedelta(seconds=31)
        assert [message.key for message in await storage.claim_due(hold=0)] == ["a"]

    async def test_a_claimed_message_is_not_handed_out_twice(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """While a claim holds, no other sender gets the message; after it lapses, one does."""
        await storage.enqueue([_message("x")])
        assert len(await storage.claim_due(hold=60)) == 1
        assert await storage.claim_due() == []
        clock.now += timedelta(seconds=61)
        assert [message.key for message in await storage.claim_due()] == ["x"]

    async def test_nothing_goes_to_a_resident_who_stopped(self, storage: Storage) -> None:
        """A message queued for a resident who has since used /stop is never handed out."""
        resident = await storage.resident(111, 111)
        await storage.enqueue([_message("r", 111, resident_id=resident.id)])
        await storage.set_stopped(resident.id, True)
        assert await storage.claim_due() == []

    # Corrections ----------------------------------------------------------------------------

    async def test_a_theme_correction_moves_the_answer_once_with_its_tone(
        self, storage: Storage
    ) -> None:
        """A correction changes every reading of the answer's themes, is audited, counts once."""
        resident = await storage.resident(7, 7)
        analysed = Analysed(("Staff", "Food"), 0.0, "neutral", (), {"Food": "negative"})
        answer = NewAnswer("matters", "Q?", "Kind staff, cold food", kind="text", analysed=analysed)
        await storage.save_turn(_turn(resident.id, None, answer=answer))
        now = storage.now()
        span = (now - timedelta(days=1), now + timedelta(days=1))
        (fact,) = await storage.answers_between(*span)
        assert fact.answer_id is not None
        assert (await storage.period_figures(*span)).theme_tones == {
            "Staff": {"neutral": 1},
            "Food": {"negative": 1},
        }
        done = await storage.correct_theme(fact.answer_id, "Food", "Catering", 42, "Priya")
        assert done is not None
        assert (done.themes, done.by_user_id, done.by_name) == (("Staff", "Catering"), 42, "Priya")
        assert await storage.correct_theme(fact.answer_id, "Food", None, 42, "Priya") is None
        assert (await storage.period_figures(*span)).theme_tones == {
            "Staff": {"neutral": 1},
            "Catering": {"negative": 1},
        }
        assert (await storage.answers_between(*span))[0].themes == ("Staff", "Catering")
        assert (await storage.export_rows())[0].themes == ("Staff", "Catering")
        assert [q.answer for q in await storage.quote_candidates("Catering", *span)] == [
            "Kind staff, cold food"
        ]
        assert await storage.quote_candidates("Food", *span) == []
        last = (await storage.audit_log())[-1]
        assert (last.actor, last.action, last.detail) == (
            42,
            "correct theme",
            {"answer_id": fact.answer_id, "from": "Food", "to": "Catering"},
        )
        await storage.forget(resident)
        assert await storage.correction_counts() == [
            CorrectionCount("Food", 1, 0),
            CorrectionCount("Catering", 0, 1),
        ]

    # Workers and their claims ----------------------------------------------------------------

    async def test_a_claim_is_held_by_one_live_worker_until_it_lets_go(
        self, storage: Storage
    ) -> None:
        """A name claimed by a live worker is not another's; claiming again is fine; only the
        holder's release frees it."""
        await storage.heartbeat("a", ttl=60)
        await storage.heartbeat("b", ttl=60)
        assert await storage.claim("chat:1", "a")
        assert not await storage.claim("chat:1", "b")
        assert await storage.claim("chat:1", "a")
        assert await storage.claim("chat:2", "b")  # another name is another claim
        await storage.release_claim("chat:1", "b")  # not b's to give up
        assert not await storage.claim("chat:1", "b")
        await storage.release_claim("chat:1", "a")
        assert await storage.claim("chat:1", "b")

    async def test_a_dead_workers_claims_are_anyones(self, storage: Storage) -> None:
        """A worker whose heartbeat lapsed holds nothing; clearing forgets it (and only it)."""
        await storage.heartbeat("gone", ttl=0.05)
        await storage.heartbeat("alive", ttl=60)
        assert await storage.claim("lead", "gone")
        assert await storage.claim("chat:3", "gone")
        await asyncio.sleep(0.2)
        assert await storage.claim("lead", "alive")
        assert await storage.clear_dead_workers() == 1
        assert await storage.clear_dead_workers() == 0
        assert await storage.claim("chat:3", "alive")  # the dead worker's claim was cleared
        assert not await storage.claim("lead", "gone")  # back from the dead: "alive" holds it

    async def test_of_many_workers_claiming_one_name_at_once_one_holds_it(
        self, storage: Storage
    ) -> None:
        workers = [f"w{n}" for n in range(8)]
        for worker in workers:
            await storage.heartbeat(worker, ttl=60)
        held = await asyncio.gather(*(storage.claim("chat:9", worker) for worker in workers))
        assert sum(held) == 1

    async def test_a_dead_workers_outbox_messages_are_handed_back_at_once(
        self, storage: Storage
    ) -> None:
        """Messages a killed worker had claimed go to others as soon as it is known dead, long
        before their claim would lapse; a live worker's claims are left alone."""
        await storage.enqueue([_message("to-dead", 1), _message("to-live", 2)])
        await storage.heartbeat("dead", ttl=0.05)
        await storage.heartbeat("live", ttl=60)
        (first,) = await storage.claim_due(limit=1, hold=300, worker="dead")
        (second,) = await storage.claim_due(limit=1, hold=300, worker="live")
        assert (first.key, second.key) == ("to-dead", "to-live")
        assert await storage.claim_due() == []
        await asyncio.sleep(0.2)
        await storage.clear_dead_workers()
        assert [message.key for message in await storage.claim_due()] == ["to-dead"]

    async def test_a_worker_that_stops_hands_back_its_claims_and_messages(
        self, storage: Storage
    ) -> None:
        await storage.enqueue([_message("m", 1)])
        await storage.heartbeat("a", ttl=60)
        await storage.heartbeat("b", ttl=60)
        assert await storage.claim("lead", "a")
        assert len(await storage.claim_due(hold=300, worker="a")) == 1
        await storage.worker_stopped("a")
        assert await storage.claim("lead", "b")
        assert [message.key for message in await storage.claim_due(worker="b")] == ["m"]

    async def test_a_sender_can_take_only_the_urgent_messages(self, storage: Storage) -> None:
        """`least_priority` leaves broadcasts to the worker that paces them."""
        await storage.enqueue(
            [
                _message("broadcast", 1),
                _message("reply", 2, priority=ASKED_FOR),
                _message("alert", 3, priority=URGENT),
            ]
        )
        urgent = await storage.claim_due(least_priority=ASKED_FOR)
        assert [message.key for message in urgent] == ["alert", "reply"]
        assert [message.key for message in await storage.claim_due()] == ["broadcast"]

    async def test_a_delayed_message_goes_out_only_when_due(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """A reply held back from a burst waits its delay; nothing else waits for it."""
        await storage.enqueue([_message("held", 1, delay=2.0), _message("now", 2)])
        assert [message.key for message in await storage.claim_due()] == ["now"]
        clock.now += timedelta(seconds=3)
        assert [message.key for message in await storage.claim_due()] == ["held"]

    async def test_each_senders_unfinished_updates_come_oldest_first(
        self, storage: Storage
    ) -> None:
        """The updates a worker drains for one sender: theirs only, unfinished, in order."""

        def sent(update_id: int, sender: int) -> tuple[int, str]:
            return update_id, json.dumps(
                {"update_id": update_id, "message": {"from": {"id": sender}, "text": "hi"}}
            )

        nobody = (40, json.dumps({"update_id": 40, "poll": {"id": "1"}}))
        await storage.record_updates([sent(33, 5), sent(31, 5), sent(32, 6), nobody, sent(34, 5)])
        await storage.mark_processed(31)
        await storage.mark_processed(34, replies='[{"text": "Thanks"}]')  # not yet replied
        assert [u.update_id for u in await storage.unfinished_from(5)] == [33, 34]
        assert [u.update_id for u in await storage.unfinished_from(5, limit=1)] == [33]
        assert [u.update_id for u in await storage.unfinished_from(6)] == [32]
        assert [u.update_id for u in await storage.unfinished_from(None)] == [40]
        assert [u.update_id for u in await storage.unfinished_from(7)] == []
        assert sorted(await storage.senders_waiting(), key=str) == sorted([5, 6, None], key=str)

    # Promises with several callers at once, and the raw-update and count queries ------------

    async def test_concurrent_claimers_never_take_the_same_message(self, storage: Storage) -> None:
        """Four senders claiming at once each get different messages, every chat in order."""
        chats = range(100, 112)
        await storage.enqueue([_message(f"m:{chat}:{n}", chat) for n in range(8) for chat in chats])
        claimed: list[str] = []

        async def sender() -> None:
            idle = 0
            for _ in range(200):  # bounded: 96 messages go in far fewer rounds
                batch = await storage.claim_due(limit=5)
                if not batch:
                    idle += 1
                    if idle > 20:
                        return
                    await asyncio.sleep(0.001)
                    continue
                idle = 0
                for message in batch:
                    claimed.append(message.key)
                    await storage.mark_sent(message.id)

        await asyncio.wait_for(asyncio.gather(*(sender() for _ in range(4))), 60)
        assert sorted(claimed) == sorted(f"m:{chat}:{n}" for n in range(8) for chat in chats)
        for chat in chats:
            mine = [key for key in claimed if key.startswith(f"m:{chat}:")]
            assert mine == [f"m:{chat}:{n}" for n in range(8)]

    async def test_two_residents_made_at_once_are_one(self, storage: Storage) -> None:
        """The same Telegram user arriving twice at once is made into one resident."""
        first, second = await asyncio.gather(storage.resident(111, 111), storage.resident(111, 111))
        assert first == second

    async def test_an_invite_redeemed_twice_at_once_joins_one(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Of two redemptions of one code at the same moment, exactly one joins."""
        await storage.create_invite("CODE", 900, clock.now + timedelta(days=1))
        joined = await asyncio.gather(
            storage.redeem_invite("CODE", 820, 820, "Priya"),
            storage.redeem_invite("CODE", 821, 821, "Tom"),
        )
        assert sum(member is not None for member in joined) == 1
        assert len(await storage.staff_members()) == 1

    async def test_a_later_update_from_the_same_sender_means_moved_on(
        self, storage: Storage
    ) -> None:
        """Stored is enough, processed or not: a resident who wrote again has moved on (with
        several workers, their next answer may wait stored while a replay of the replies they
        already read is considered). The sender is read from the raw JSON, whatever kind of
        update it is; another sender's updates do not count."""
        await storage.record_update(1, '{"update_id": 1, "message": {"from": {"id": 111}}}')
        await storage.record_update(2, '{"update_id": 2, "callback_query": {"from": {"id": 222}}}')
        await storage.mark_processed(2)
        assert await storage.moved_on_since(1) is False
        await storage.record_update(3, '{"update_id": 3, "edited_message": {"from": {"id": 111}}}')
        assert await storage.moved_on_since(1) is True
        assert await storage.moved_on_since(2) is False
        assert await storage.moved_on_since(3) is False

    async def test_personal_data_holds_the_raw_messages_and_is_plain_json(
        self, storage: Storage
    ) -> None:
        """/mydata gathers a resident's sessions, answers and raw messages, ready for JSON."""
        resident = await storage.resident(111, 111)
        await storage.record_update(4, '{"update_id": 4, "message": {"from": {"id": 111}}}')
        await storage.record_update(5, '{"update_id": 5, "message": {"from": {"id": 222}}}')
        await storage.save_turn(
            _turn(resident.id, None, answer=NewAnswer("a", "Q", "The bins"), update_id=4)
        )
        data = await storage.personal_data(resident)
        assert data["messages_as_telegram_sent_them"] == [
            {"update_id": 4, "message": {"from": {"id": 111}}}
        ]
        assert [answer["answer"] for answer in data["answers"]] == ["The bins"]
        assert [session["step_id"] for session in data["conversations"]] == ["matters"]
        assert json.loads(json.dumps(data))["you"]["pseudonym_staff_see"] == resident.pseudonym

    async def test_forgetting_keeps_that_an_alert_was_raised_but_not_about_whom(
        self, storage: Storage
    ) -> None:
        """/forgetme rewrites the audit line of an alert about the resident, and drops the alert."""
        resident = await storage.resident(111, 111)
        await storage.raise_alert(
            Alert(
                (_message(f"safeguarding:{resident.id}:1", 900),),
                {"resident": resident.pseudonym, "signs": "harm"},
            )
        )
        await storage.forget(resident)
        (entry,) = await storage.audit_log()
        assert entry.detail == {
            "resident": "a resident whose data was deleted at their request",
            "signs": "harm",
        }
        assert await storage.claim_due() == []

    async def test_period_figures_count_tones_themes_scales_and_risk(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """A period's figures count residents, tones, themes by tone, scale averages, held back."""
        start = clock.now
        for user, tone, themes in (
            (1, "negative", ("waste",)),
            (2, "positive", ("waste", "parks")),
        ):
            resident = await storage.resident(user, user)
            session = await storage.save_turn(
                _turn(
                    resident.id,
                    None,
                    answer=NewAnswer(
                        "a",
                        "Q",
                        "words",
                        kind="text",
                        analysed=Analysed(themes, 0.1, tone, ()),
                        safeguarding=("harm",) if user == 2 else (),
                    ),
                )
            )
            await storage.save_turn(
                _turn(
                    resident.id,
                    session.id,
                    answer=NewAnswer(
                        "s", "How happy?", str(user + 2), number=user + 2, kind="scale"
                    ),
                )
            )
        # A tap on "This helps" under what the service did is a reaction, not an answer.
        tapper = await storage.resident(3, 3)
        await storage.save_turn(
            _turn(
                tapper.id,
                None,
                flow_id="you-said-we-did",
                step_id="action-1",
                status="thread",
                answer=NewAnswer("action-1", "Fixed the bins", "helps", kind="reaction"),
            )
        )
        clock.now += timedelta(hours=1)
        figures = await storage.period_figures(start, clock.now)
        assert (figures.residents, figures.answers, figures.held_back) == (2, 4, 1)
        (week,) = await storage.weekly_figures([(start, clock.now)])
        assert (week.answers, week.residents) == (4, 2)
        assert figures.tones == {"negative": 1, "positive": 1}
        assert figures.theme_tones == {
            "waste": {"negative": 1, "positive": 1},
            "parks": {"positive": 1},
        }
        assert figures.scales == (("How happy?", 3.5, 2),)
        assert await storage.period_figures(clock.now, clock.now + timedelta(days=1)) == (
            PeriodFigures(0, 0, {}, {}, (), {}, 0)
        )

    async def test_a_reaction_replaces_the_residents_earlier_one(self, storage: Storage) -> None:
        """A second reaction to the same step replaces the first; a reply is kept beside it."""
        resident = await storage.resident(111, 111)
        thread = {"flow_id": "you-said-we-did", "step_id": "action-1"}
        session = await storage.save_turn(
            _turn(
                resident.id,
                None,
                **thread,
                answer=NewAnswer("action-1", "Q", "helps", kind="reaction"),
            )
        )
        for text, kind in (("not enough", "reaction"), ("Thanks", "text")):
            await storage.save_turn(
                _turn(
                    resident.id,
                    session.id,
                    **thread,
                    answer=NewAnswer("action-1", "Q", text, kind=kind),
                )
            )
        assert [row.answer for row in await storage.export_rows()] == ["not enough", "Thanks"]

    async def test_telling_residents_of_an_action_is_once_per_status(
        self, storage: Storage
    ) -> None:
        """An action saved again at one status tells nobody twice; a new status tells again."""
        resident = await storage.resident(111, 111)
        listener = Listener(resident.id, 111, "The bins")

        def message(action: Action, x: Listener) -> OutgoingMessage:
            return _message(f"action:{action.id}:{action.status}:{x.resident_id}", x.chat_id)

        first = await storage.save_action(
            None,
            theme="waste",
            status="planned",
            text="More rounds",
            reason=None,
            by=900,
            listeners=[listener],
            message=message,
        )
        for status in ("planned", "done"):
            await storage.save_action(
                first.id,
                theme="waste",
                status=status,
                text="More rounds",
                reason=None,
                by=900,
                listeners=[listener],
                message=message,
            )
        history = await storage.action_history(first.id)
        assert [(change.status, change.told) for change in history] == [
            ("planned", 1),
            ("planned", 0),
            ("done", 1),
        ]
        keys = [m.key for m in await storage.claim_due()]
        assert keys == [f"action:{first.id}:planned:{resident.id}"]

    # Safeguarding threads -------------------------------------------------------------------

    async def test_a_thread_is_opened_taken_over_and_closed(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """One open thread per resident and per contact: a second contact takes it over, and a
        contact opening another thread leaves the first."""
        first = await storage.resident(111, 111)
        second = await storage.resident(222, 222)
        await storage.open_thread(first.id, 820, 8200)
        thread = await storage.thread_of_resident(first.id)
        assert thread is not None
        assert (thread.resident, thread.contact_user_id, thread.contact_chat_id) == (
            first,
            820,
            8200,
        )
        assert thread.opened_at == clock.now
        assert await storage.thread_of_contact(820) == thread
        await storage.open_thread(first.id, 821, 8210)  # another contact takes over
        assert await storage.thread_of_contact(820) is None
        taken = await storage.thread_of_resident(first.id)
        assert taken is not None
        assert taken.contact_user_id == 821
        await storage.open_thread(second.id, 821, 8210)  # and moves on to another resident
        assert await storage.thread_of_resident(first.id) is None
        moved = await storage.thread_of_contact(821)
        assert moved is not None
        assert moved.resident == second
        await storage.close_thread(second.id)
        assert await storage.thread_of_contact(821) is None
        assert await storage.thread_of_resident(second.id) is None

    async def test_thread_messages_go_to_mydata_and_the_audit_has_no_words(
        self, storage: Storage
    ) -> None:
        """Each message of a thread is in the resident's /mydata; the audit says who and when,
        never what; /forgetme ends the thread and unnames its audit lines."""
        resident = await storage.resident(111, 111)
        await storage.open_thread(resident.id, 820, 820)
        await storage.keep_thread_message(resident.id, 820, True, "Are you safe tonight?")
        await storage.keep_thread_message(resident.id, 820, False, "Yes, at my sister's")
        data = await storage.personal_data(resident)
        said = data["messages_with_the_safeguarding_team"]
        assert [(m["from"], m["text"]) for m in said] == [
            ("the service", "Are you safe tonight?"),
            ("you", "Yes, at my sister's"),
        ]
        assert all(isinstance(m["at"], str) for m in said)
        assert json.loads(json.dumps(data)) == data
        entries = await storage.audit_log()
        assert [(e.actor, e.action, e.detail) for e in entries] == [
            (
                820,
                "safeguarding thread message",
                {"resident": resident.pseudonym, "from": "the contact"},
            ),
            (
                0,
                "safeguarding thread message",
                {"resident": resident.pseudonym, "from": "the resident"},
            ),
        ]
        assert "safe" not in json.dumps([e.detail for e in entries])
        await storage.forget(resident)
        assert await storage.thread_of_contact(820) is None
        assert {e.detail["resident"] for e in await storage.audit_log()} == {
            "a resident whose data was deleted at their request"
        }

    async def test_a_resident_is_found_by_pseudonym_in_any_case(self, storage: Storage) -> None:
        """Staff type a pseudonym as they see it, in any case, with stray spaces."""
        resident = await storage.resident(111, 111)
        typed = "  " + resident.pseudonym.upper().replace(" ", "   ") + " "
        assert await storage.resident_named(typed) == resident
        assert await storage.resident_named("nobody at all") is None

    # Dashboard ------------------------------------------------------------------------------

    async def test_a_sign_in_link_is_spent_once_and_expires(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """A link opens one session, once; an expired link opens none."""
        await storage.create_sign_in_link("link", 820, clock.now + timedelta(minutes=15))
        await storage.create_sign_in_link("late", 820, clock.now + timedelta(minutes=15))
        assert await storage.sign_in_link_open("link")
        assert not await storage.sign_in_link_open("unknown")
        until = clock.now + timedelta(hours=8)
        spent = await asyncio.gather(
            storage.spend_sign_in_link("link", "session-a", until),
            storage.spend_sign_in_link("link", "session-b", until),
        )
        assert sorted(spent, key=str) == [820, None]
        assert not await storage.sign_in_link_open("link")
        opened = "session-a" if spent[0] == 820 else "session-b"
        session = await storage.web_session(opened)
        assert session is not None
        assert (session.telegram_user_id, session.started_at, session.expires_at) == (
            820,
            clock.now,
            until,
        )
        clock.now += timedelta(minutes=16)
        assert not await storage.sign_in_link_open("late")
        assert await storage.spend_sign_in_link("late", "session-c", until) is None
        assert await storage.web_session("session-c") is None
        clock.now = until
        assert await storage.web_session(opened) is None  # the session expired too

    async def test_sessions_end_on_sign_out_and_when_staff_are_removed(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Signing out ends one session; removing a member of staff ends all of theirs."""
        until = clock.now + timedelta(hours=8)
        for n, user in enumerate((820, 820, 820, 821)):
            await storage.create_sign_in_link(f"link-{n}", user, until)
            assert await storage.spend_sign_in_link(f"link-{n}", f"session-{n}", until) == user
        await storage.end_web_session("session-0")
        assert await storage.web_session("session-0") is None
        assert await storage.end_web_sessions(820) == 2
        assert await storage.end_web_sessions(820) == 0
        assert [await storage.web_session(f"session-{n}") for n in (1, 2)] == [None, None]
        other = await storage.web_session("session-3")
        assert other is not None
        assert other.telegram_user_id == 821

    async def test_spent_links_and_sessions_are_forgotten_and_live_ones_kept(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """The retention job deletes what can no longer sign anyone in: expired links, expired
        or ended sessions; an open link and a live session stay."""
        soon, later = clock.now + timedelta(minutes=15), clock.now + timedelta(hours=8)
        await storage.create_sign_in_link("expired", 820, clock.now + timedelta(minutes=1))
        await storage.create_sign_in_link("open", 820, soon)
        for n, until in enumerate((clock.now + timedelta(minutes=5), later, later)):
            await storage.create_sign_in_link(f"used-{n}", 820, soon)
            await storage.spend_sign_in_link(f"used-{n}", f"session-{n}", until)
        await storage.end_web_session("session-2")
        clock.now += timedelta(minutes=10)
        # Gone: the expired link, session 0 (expired) and session 2 (signed out).
        assert await storage.forget_spent_web_access(clock.now) == 3
        assert await storage.forget_spent_web_access(clock.now) == 0
        assert await storage.sign_in_link_open("open")
        assert await storage.web_session("session-1") is not None

    async def test_find_answers_filters_and_pages_newest_first(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Answers by theme, flow, step, tone, time and words (any case, literally), risky ones
        only when asked, newest first, a page at a time with the number that match."""
        start = clock.now
        said = (
            ("The bins are 100% late", ("waste",), "negative", ()),
            ("Lovely park", ("parks",), "positive", ()),
            ("bins_again and the park", ("waste", "parks"), "neutral", ()),
            ("I am not safe", ("waste",), "negative", ("harm",)),
        )
        for n, (text, themes, tone, risk) in enumerate(said):
            resident = await storage.resident(100 + n, 100 + n)
            await storage.save_turn(
                _turn(
                    resident.id,
                    None,
                    flow_id="parks" if n == 1 else "what-matters",
                    answer=NewAnswer(
                        "matters",
                        "Q?",
                        text,
                        kind="text",
                        analysed=Analysed(themes, 0.0, tone, ()),
                        safeguarding=risk,
                    ),
                )
            )
            clock.now += timedelta(hours=1)

        async def found(query: AnswerQuery, **page: int | None) -> tuple[list[str], int]:
            result = await storage.find_answers(query, **page)  # type: ignore[arg-type]
            return [fact.answer for fact in result.answers], result.total

        assert await found(AnswerQuery()) == (
            ["bins_again and the park", "Lovely park", "The bins are 100% late"],
            3,
        )
        assert (await found(AnswerQuery(with_held_back=True)))[1] == 4
        assert await found(AnswerQuery(theme="waste")) == (
            ["bins_again and the park", "The bins are 100% late"],
            2,
        )
        assert await found(AnswerQuery(flow="parks")) == (["Lovely park"], 1)
        assert await found(AnswerQuery(step="nothing")) == ([], 0)
        assert await found(AnswerQuery(tone="negative", with_held_back=True)) == (
            ["I am not safe", "The bins are 100% late"],
            2,
        )
        window = AnswerQuery(start=start + timedelta(hours=1), end=start + timedelta(hours=2))
        assert await found(window) == (["Lovely park"], 1)
        assert await found(AnswerQuery(words="BINS")) == (
            ["bins_again and the park", "The bins are 100% late"],
            2,
        )
        assert await found(AnswerQuery(words="100%")) == (["The bins are 100% late"], 1)
        assert await found(AnswerQuery(words="s_a")) == (["bins_again and the park"], 1)
        assert await found(AnswerQuery(), limit=1, offset=1) == (["Lovely park"], 3)
        assert await found(AnswerQuery(), limit=None, offset=2) == (
            ["The bins are 100% late"],
            3,
        )
        page = await storage.find_answers(AnswerQuery(theme="parks"), limit=1)
        assert page.answers[0].answer_id is not None
        assert page.answers[0].themes == ("waste", "parks")

    async def test_weekly_figures_count_each_week_and_recent_themes(
        self, storage: Storage, clock: HandClock
    ) -> None:
        """Each week's residents, answers and tones, of all answers or of one theme, with theme
        counts in the latest weeks only; an empty week is all zeros."""
        start = clock.now
        weeks = [(start + timedelta(weeks=n), start + timedelta(weeks=n + 1)) for n in range(3)]
        resident = await storage.resident(111, 111)
        for week, tone, themes in ((0, "negative", ("waste",)), (2, "positive", ("parks",))):
            clock.now = start + timedelta(weeks=week, hours=1)
            for _ in range(2):
                await storage.save_turn(
                    _turn(
                        resident.id,
                        None,
                        answer=NewAnswer(
                            "m", "Q?", "words", analysed=Analysed(themes, 0.0, tone, ())
                        ),
                    )
                )
        figures = await storage.weekly_figures(weeks, themes_in_last=1)
        assert [(f.start, f.residents, f.answers) for f in figures] == [
            (weeks[0][0], 1, 2),
            (weeks[1][0], 0, 0),
            (weeks[2][0], 1, 2),
        ]
        assert figures[0].tones == {"negative": 2, "neutral": 0, "positive": 0}
        assert figures[1].tones == {"negative": 0, "neutral": 0, "positive": 0}
        assert [f.themes for f in figures] == [{}, {}, {"parks": 2}]
        parks = await storage.weekly_figures(weeks, theme="parks")
        assert [f.answers for f in parks] == [0, 0, 2]
        assert all(f.themes == {} for f in parks)
        assert await storage.weekly_figures([]) == []
