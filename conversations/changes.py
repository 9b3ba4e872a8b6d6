"""What changed between two versions of a flow, in words an admin checks before publishing."""

from __future__ import annotations

from conversations.model import Flow, Step


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 60 else line[:57] + "…"


def _wording(step: Step) -> list[object]:
    """Every text of the step, in every language."""
    return list(step.localised_texts())


def _settings(step: Step) -> dict[str, object]:
    """Everything about the step but its texts."""
    settings = step.model_dump(exclude={"text", "decline_text", "scale_labels", "expired_text"})
    settings["options"] = len(step.options)
    settings["reminder"] = step.reminder.after if step.reminder else None
    return settings


def describe_changes(old: Flow | None, new: Flow) -> list[str]:
    """Steps added, removed, reworded or changed in kind, one line each (empty: no change)."""
    if old is None:
        return [f"new flow with {len(new.steps)} steps"]
    before = {step.id: step for step in old.steps}
    after = {step.id: step for step in new.steps}
    lines = [
        f'added step "{step.id}": {_first_line(step.text.main)}'
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
        if was.text.main != step.text.main:
            lines.append(f'reworded step "{step.id}": {_first_line(step.text.main)}')
        elif _wording(was) != _wording(step):
            lines.append(f'changed the wording or translations of step "{step.id}"')
        if was.kind == step.kind and _settings(was) != _settings(step):
            lines.append(f'changed the settings of step "{step.id}"')
    if old.title != new.title:
        lines.append(f'title is now "{new.title}"')
    elif old.titles != new.titles:
        lines.append("the title's translations changed")
    if old.languages != new.languages:
        lines.append(
            f"languages are now {', '.join(new.languages)} (was {', '.join(old.languages)})"
        )
    if [s.id for s in old.steps if s.id in after] != [s.id for s in new.steps if s.id in before]:
        lines.append("steps are in a new order")
    return lines
