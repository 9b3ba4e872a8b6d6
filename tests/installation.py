"""A small whatmatters installation with a row in every table, made through storage's own
interface: what `db copy` tests move from one backend to another."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from storage import NewAnswer, Storage, Turn
from storage.models import ActionDraft, Alert, Analysed, Listener, OutgoingMessage
from storage.tables import TABLES


async def fill(storage: Storage) -> None:
    """Residents with answers (themes with their own tones, a scale, a sign of risk), raw
    updates, flows, drafts, a preview, staff, invites, a digest, queued and sent messages, an
    action with its history, a theme correction, a safeguarding thread with its messages, and
    the dashboard's sign-in links and sessions."""
    now = storage.now()
    await storage.publish_flow("what-matters", "id: what-matters\n")
    await storage.publish_flow("what-matters", "id: what-matters # v2\n")
    await storage.save_draft("what-matters", "id: what-matters # v3\n", saved_by=900)
    await storage.start_preview(900, "what-matters", "id: what-matters\n", "{}")
    await storage.save_preview(900, '{"step": 2}', "a preview answer")
    for n in range(3):
        user = 111 + n
        resident = await storage.resident(user, user)
        payload = {"update_id": 10 + n, "message": {"from": {"id": user}, "text": "The bins"}}
        await storage.record_update(10 + n, json.dumps(payload))
        session = await storage.save_turn(
            Turn(
                resident.id,
                None,
                "what-matters",
                1,
                "next",
                "active",
                '{"at": "next"}',
                answer=NewAnswer(
                    "matters",
                    "What matters?",
                    f"The bins on street {n} are never emptied on time",
                    follow_up_consent=True,
                    kind="text",
                    analysed=Analysed(
                        ("waste", "streets"), -0.4, "negative", ("bins",), {"streets": "neutral"}
                    ),
                ),
                update_id=10 + n,
                replies="[]",
            )
        )
        await storage.save_turn(
            Turn(
                resident.id,
                session.id,
                "what-matters",
                1,
                None,
                "done",
                "{}",
                answer=NewAnswer("score", "How satisfied?", "4", number=4.0, kind="scale"),
            )
        )
    await storage.raise_alert(
        Alert((OutgoingMessage("safeguarding:1:900", 900, "sendMessage", "alert"),), {"x": 1})
    )
    await storage.enqueue(
        [
            OutgoingMessage("file:1", 111, "sendDocument", "yours", "data.json", b"\x00\x01"),
            OutgoingMessage("reminder:1", 112, "sendMessage", "still there?", resident_id=2),
        ]
    )
    (first, *_) = await storage.claim_due()
    await storage.mark_sent(first.id)
    await storage.create_invite("CODE", 900, now + timedelta(days=1))
    await storage.redeem_invite("CODE", 820, 820, "Priya")
    await storage.create_invite("SPARE", 900, now + timedelta(days=1))
    await storage.audit(900, "invite", code="CODE")
    digest = await storage.claim_digest(now - timedelta(days=7), now)
    await storage.enqueue_digest(digest.id, [OutgoingMessage("digest:1:820", 820, "x", "d")])
    action = await storage.save_action(
        None,
        theme="waste",
        status="planned",
        text="More bin rounds",
        reason=None,
        by=900,
        listeners=[Listener(1, 111, "The bins")],
        message=lambda action, x: OutgoingMessage(
            f"action:{action.id}:planned:{x.resident_id}", x.chat_id, "sendMessage", "we did"
        ),
    )
    await storage.save_action_draft(ActionDraft(820, action.id, "waste", "text", None, None, None))
    answer_id = (await storage.answers_between(now - timedelta(days=1), now + timedelta(days=1)))[
        0
    ].answer_id
    assert answer_id is not None
    await storage.correct_theme(answer_id, "streets", "roads", 820, "Priya")
    await storage.open_thread(1, 820, 820)
    await storage.keep_thread_message(1, 820, True, "We read what you wrote: are you safe?")
    await storage.keep_thread_message(1, 820, False, "Yes, thank you")
    await storage.create_sign_in_link("link-hash", 820, now + timedelta(minutes=15))
    await storage.spend_sign_in_link("link-hash", "session-hash", now + timedelta(hours=8))
    await storage.create_sign_in_link("spare-link-hash", 820, now + timedelta(minutes=15))


async def every_row(storage: Storage) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, JSON columns read as values (a backend may reorder keys)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table in TABLES:
        rows = found.setdefault(table.name, [])
        kinds = [kind for _, kind in table.columns]
        async for batch in storage.rows(table):
            rows.extend(
                tuple(
                    json.loads(value) if kind == "json" and value is not None else value
                    for kind, value in zip(kinds, row, strict=True)
                )
                for row in batch
            )
    return found
