"""The values that flow between stages: the fast __init__ behaves as the dataclass's own."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from bulkmail.models import Outcome, Problem, Row, Severity, Status, _fast_init


def test_fast_init_takes_positions_keywords_and_defaults() -> None:
    by_position = Problem(3, "port", "port-invalid", Severity.ERROR, "bad")
    by_keyword = Problem(
        row=3, column="port", code="port-invalid", severity=Severity.ERROR, message="bad"
    )
    assert by_position == by_keyword
    assert (by_position.row, by_position.column, by_position.message, by_position.hint) == (
        3,
        "port",
        "bad",
        "",
    )
    outcome = Outcome(Row(2, ("a",)), Status.VALID)
    assert (outcome.stage, outcome.attempts, outcome.problems, outcome.transient) == (
        None,
        0,
        (),
        False,
    )


def test_fast_init_keeps_the_instances_frozen_hashable_and_replaceable() -> None:
    problem = Problem(3, "port", "port-invalid", Severity.ERROR, "bad", "fix it")
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.row = 4  # type: ignore[misc]
    twin = Problem(3, "port", "port-invalid", Severity.ERROR, "bad", "fix it")
    assert hash(problem) == hash(twin)
    assert dataclasses.replace(problem, hint="").hint == ""
    assert pickle.loads(pickle.dumps(problem)) == problem


def test_fast_init_refuses_what_it_cannot_build() -> None:
    with pytest.raises(TypeError, match="missing 4 required positional arguments"):
        Problem(3)  # type: ignore[call-arg]

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match=r"WithFactory\.items"):
        _fast_init(WithFactory)
