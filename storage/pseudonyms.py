"""Friendly random pseudonyms: staff follow one resident's answers without knowing who they are."""

from __future__ import annotations

import secrets

# Random rather than derived from the Telegram id: a hash of an id could be reversed by trying ids.
_ADJECTIVES = (
    "Amber", "Blue", "Bright", "Calm", "Clever", "Coral", "Crimson", "Dapper", "Eager", "Gentle",
    "Golden", "Green", "Happy", "Hazel", "Honest", "Jolly", "Kind", "Lively", "Lucky", "Merry",
    "Misty", "Noble", "Olive", "Patient", "Plucky", "Proud", "Quiet", "Rosy", "Ruby", "Sandy",
    "Silver", "Steady", "Sunny", "Swift", "Tidy", "Violet", "Warm", "Wise", "Witty", "Zesty",
)  # fmt: skip
_NOUNS = (
    "Badger", "Beech", "Birch", "Bluebell", "Brook", "Cedar", "Clover", "Crane", "Daisy", "Dove",
    "Falcon", "Fern", "Finch", "Fox", "Hare", "Hazel", "Heron", "Holly", "Ivy", "Kestrel",
    "Lark", "Maple", "Meadow", "Otter", "Owl", "Pebble", "Pine", "Plover", "Poppy", "Raven",
    "Robin", "Rowan", "Sparrow", "Swallow", "Thistle", "Thrush", "Willow", "Wren", "Yew", "Linnet",
)  # fmt: skip


def new_pseudonym() -> str:
    """Make a pseudonym such as `Calm Heron 482` (1.6 million possibilities)."""
    return f"{secrets.choice(_ADJECTIVES)} {secrets.choice(_NOUNS)} {secrets.randbelow(1000):03d}"
