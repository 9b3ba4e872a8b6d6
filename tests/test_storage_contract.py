"""The storage contract: what every backend promises (storage/interfaces.py), run over each one.

Only the Protocols' methods are used here, never SQL, so a new backend joins by adding its name
to BACKENDS and a branch to the `storage` fixture in conftest.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from storage import NewAnswer, Storage, StorageError, Turn, UpdateStatus
from storage.models import (
    URGENT,
    Action,
    Alert,
    Analysed,
    Listener,
    OutgoingMessage,
    PeriodFigures,
)
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
        """Recording an update again keeps the first copy and reports it still to process."""
        assert (await storage.record_update(9, '{"first": 1}')).status == UpdateStatus.NEW
        assert (await storage.record_update(9, '{"again": 2}')).status == UpdateStatus.UNPROCESSED
        await storage.record_updates([(9, '{"third": 3}'), (10, "{}")])
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

    async def test_a_later_processed_update_from_the_same_sender_means_moved_on(
        self, storage: Storage
    ) -> None:
        """The sender of an update is read from its raw JSON, whatever kind of update it is."""
        await storage.record_update(1, '{"update_id": 1, "message": {"from": {"id": 111}}}')
        await storage.record_update(2, '{"update_id": 2, "callback_query": {"from": {"id": 222}}}')
        await storage.record_update(3, '{"update_id": 3, "edited_message": {"from": {"id": 111}}}')
        await storage.mark_processed(2)
        assert await storage.moved_on_since(1) is False
        await storage.mark_processed(3)
        assert await storage.moved_on_since(1) is True
        assert await storage.moved_on_since(2) is False

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
        clock.now += timedelta(hours=1)
        figures = await storage.period_figures(start, clock.now)
        assert (figures.residents, figures.answers, figures.held_back) == (2, 4, 1)
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
