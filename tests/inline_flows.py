"""Flows written inline in tests, and the problems of those meant to be refused."""

from __future__ import annotations

from textwrap import dedent

import pytest

from conversations.loader import FlowFileError, FlowProblem, parse_flow
from conversations.model import Flow


def make_flow(yaml: str) -> Flow:
    """Parse a flow written inline in a test."""
    return parse_flow(dedent(yaml).lstrip("\n"), source="flow.yaml")


def problems_in(yaml: str) -> list[FlowProblem]:
    """The problems of a flow that is expected to be refused."""
    with pytest.raises(FlowFileError) as caught:
        make_flow(yaml)
    return caught.value.problems


def only_problem(yaml: str) -> FlowProblem:
    """The one problem of a flow that is expected to be refused for one reason."""
    problems = problems_in(yaml)
    assert len(problems) == 1, problems
    return problems[0]
