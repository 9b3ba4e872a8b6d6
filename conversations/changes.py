"""What changed between two versions of a flow, in words an admin checks before publishing."""

from __future__ import annotations

from conversations.model import Flow


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 60 else line[:57] + "…"


def describe_changes(old: Flow | None, new: Flow) -> list[str]:
    """Steps added, removed, reworded or changed in kind, one line each (empty: no change)."""
    if old is None:
        return [f"new flow with {len(new.steps)} steps"]
    before = {step.id: step for step in old.steps}
    after = {step.id: step for step in new.steps}
    lines = [
        f'added step "{step.id}": {_first_line(step.text)}'
        for step in new.steps
        if step.id not in before
    ]
    lines += [
        f'removed step "{step.id}" (its answers are kept)'
        for step in old.steps
        if step.id not in after
    ]
    for step in new.steps:
        was = before.get(step.id)
        if was is None:
            continue
        if was.kind != step.kind:
            lines.append(f'step "{step.id}" is now a {step.kind} step (was {was.kind})')
        if was.text != step.text:
            lines.append(f'reworded step "{step.id}": {_first_line(step.text)}')
        elif was != step and was.kind == step.kind:
            lines.append(f'changed the settings of step "{step.id}"')
    if old.title != new.title:
        lines.append(f'title is now "{new.title}"')
    if [s.id for s in old.steps if s.id in after] != [s.id for s in new.steps if s.id in before]:
        lines.append("steps are in a new order")
    return lines
