"""An admin tries a flow's draft exactly as residents will see it, with the answers kept apart."""

from __future__ import annotations

from conversations.engine import Input, Message, State, Status, advance, begin
from conversations.loader import parse_flow
from conversations.model import Flow
from storage import Flows

PREVIEW_INTRO = (
    "Preview of {flow}: this is what residents will see. Your answers are kept apart and never "
    "reach a digest. Send /start to leave the preview."
)
PREVIEW_END = (
    "That is the end of the preview of {flow}. Your {count} answers were kept apart. "
    "/publish {flow} makes it live."
)


class Previews:
    """Previews under way, one per admin, kept in storage so they survive a restart."""

    def __init__(self, storage: Flows) -> None:
        self.storage = storage
        self._parsed: dict[str, Flow] = {}

    def _flow(self, source: str, flow_id: str) -> Flow:
        if source not in self._parsed:
            self._parsed[source] = parse_flow(source, source=f"draft of {flow_id}")
        return self._parsed[source]

    async def begin(self, user_id: int, flow_id: str) -> list[Message] | None:
        """Start previewing a flow's draft (or its live version if it has no draft)."""
        source = await self.storage.draft(flow_id)
        if source is None:
            live = await self.storage.live_flow(flow_id)
            if live is None:
                return None
            source = live.source
        outcome = begin(self._flow(source, flow_id))
        await self.storage.start_preview(user_id, flow_id, source, outcome.state.model_dump_json())
        return [Message(PREVIEW_INTRO.format(flow=flow_id)), *outcome.messages]

    async def turn(self, user_id: int, inp: Input) -> list[Message] | None:
        """Take the admin's input in their preview; None if they are not previewing."""
        found = await self.storage.preview(user_id)
        if found is None:
            return None
        flow_id = found.flow_id
        outcome = advance(
            self._flow(found.source, flow_id), State.model_validate_json(found.state), inp
        )
        answer = outcome.answer.text if outcome.answer else None
        await self.storage.save_preview(user_id, outcome.state.model_dump_json(), answer)
        if outcome.state.status == Status.ACTIVE:
            return list(outcome.messages)
        count = len(await self.storage.preview_answers(user_id))
        await self.storage.end_preview(user_id)
        return [*outcome.messages, Message(PREVIEW_END.format(flow=flow_id, count=count))]

    async def end(self, user_id: int) -> None:
        """Leave the preview, if there is one."""
        await self.storage.end_preview(user_id)
