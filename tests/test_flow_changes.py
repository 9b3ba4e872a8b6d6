"""The summary of what a new version of a flow changes, shown when it is published."""

from __future__ import annotations

from conversations.changes import describe_changes
from conversations.loader import parse_flow

OLD = """
id: survey
title: Survey
steps:
  - id: consent
    kind: consent
    text: May we ask you some questions?
  - id: matters
    kind: text
    text: What matters to you?
  - id: score
    kind: scale
    text: How happy are you?
  - id: bye
    kind: end
    text: Thanks!
"""

NEW = """
id: survey
title: Survey
steps:
  - id: consent
    kind: consent
    text: May we ask you some questions?
  - id: matters
    kind: text
    text: What matters most to you about where you live?
  - id: change
    kind: text
    text: What one thing would you change?
    asks_for: improvement
  - id: bye
    kind: end
    text: Thanks!
"""


def test_added_removed_and_reworded_steps_are_named() -> None:
    """Publishing names each step added, removed (answers kept) and reworded."""
    changes = describe_changes(parse_flow(OLD), parse_flow(NEW))
    assert changes == [
        'added step "change": What one thing would you change?',
        'removed step "score" (its answers are kept)',
        'reworded step "matters": What matters most to you about where you live?',
    ]


def test_the_same_flow_has_no_changes_and_a_first_version_says_so() -> None:
    """Re-publishing the same steps lists nothing; a first version counts its steps."""
    assert describe_changes(parse_flow(OLD), parse_flow(OLD)) == []
    assert describe_changes(None, parse_flow(OLD)) == ["new flow with 4 steps"]


def test_settings_and_order_changes_are_noticed() -> None:
    """A step made optional, or steps moved, are changes too."""
    optional = OLD.replace("kind: scale\n", "kind: scale\n    optional: true\n")
    assert describe_changes(parse_flow(OLD), parse_flow(optional)) == [
        'changed the settings of step "score"'
    ]
    matters = "  - id: matters\n    kind: text\n    text: What matters to you?\n"
    score = "  - id: score\n    kind: scale\n    text: How happy are you?\n"
    swapped = OLD.replace(matters + score, score + matters)
    assert describe_changes(parse_flow(OLD), parse_flow(swapped)) == ["steps are in a new order"]
