"""A message's own priority headers on the 1-5 scale (issue 17)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.services.message_priority import priority_from_headers


@pytest.mark.parametrize(("headers", "expected"), [
    ([("X-Priority", "1 (Highest)")], 1),
    ([("X-Priority", "2")], 2),
    ([("x-priority", " 5 (Lowest)")], 5),
    ([("Importance", "High")], 1),
    ([("Importance", "low")], 5),
    ([("Priority", "urgent")], 1),
    ([("Priority", "non-urgent")], 5),
    ([("X-MSMail-Priority", "High")], 1),
    ([("X-MSMail-Priority", "Normal")], 3),
    ([("Importance", "normal"), ("X-Priority", "2")], 2),
    ([("X-Priority", "12")], None),
    ([("X-Priority", "high")], None),
    ([("Importance", "")], None),
    ([("Subject", "1 urgent")], None),
    ([], None),
])
def test_each_header_form_maps_to_the_scale_and_the_most_urgent_wins(
        headers: list[tuple[str, str]], expected: int | None) -> None:
    assert priority_from_headers(headers) == expected


@given(st.lists(st.tuples(st.sampled_from(["X-Priority", "Importance", "Priority", "X-MSMail-Priority", "To"]),
                          st.text(max_size=30))))
def test_any_header_values_give_a_priority_on_the_scale_or_none(headers: list[tuple[str, str]]) -> None:
    result = priority_from_headers(headers)
    assert result is None or 1 <= result <= 5
