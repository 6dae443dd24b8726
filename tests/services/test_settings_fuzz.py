"""The registry's parsers fuzzed (hypothesis): whatever is typed or written, the answer is the key's rule or an
`InvalidInputError` naming the key, never another exception (an OverflowError once stopped `serve`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.services.settings import REGISTRY, Setting
from wizard.services.validation import InvalidInputError

WHOLE_NUMBERS = [entry for entry in REGISTRY if entry.kind is int]
TOML_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
                        st.lists(st.text(max_size=10), max_size=3))


@pytest.mark.parametrize("entry", WHOLE_NUMBERS, ids=lambda e: e.key)
@settings(max_examples=150, deadline=None)
@given(number=st.one_of(st.integers(), st.integers(min_value=-10**40, max_value=10**40)))
def test_a_typed_whole_number_is_accepted_exactly_within_its_bounds(entry: Setting, number: int) -> None:
    assert entry.minimum is not None and entry.maximum is not None
    for value, typed in ((number, True), (str(number), False), (f"  {number} ", False)):
        if entry.minimum <= number <= entry.maximum:
            assert entry.parse(value, typed=typed) == number
        else:
            with pytest.raises(InvalidInputError, match=f"{entry.key} must be a whole number from"):
                entry.parse(value, typed=typed)


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.key)
@settings(max_examples=100, deadline=None)
@given(value=TOML_VALUES)
def test_any_value_is_either_accepted_with_the_keys_type_or_refused_naming_the_key(entry: Setting,
                                                                                   value: Any) -> None:
    for typed in (True, False):
        try:
            parsed = entry.parse(value if typed else str(value), typed=typed)
        except InvalidInputError as exc:
            assert entry.key in str(exc)
            continue
        assert isinstance(parsed, entry.kind)
        if entry.kind is int:
            assert entry.minimum is not None and entry.maximum is not None
            assert entry.minimum <= parsed <= entry.maximum
