"""Property tests draw the same examples on every CI run, and new ones on a developer's."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load_hypothesis_profile


def _draws_twice(profile: str) -> tuple[list, list]:
    """Run one property test (with its own @settings, like the suite's) twice under `profile`."""
    settings.load_profile(profile)
    try:
        return _draws(), _draws()
    finally:
        load_hypothesis_profile()


def _draws() -> list[bytes]:
    seen: list[bytes] = []

    @settings(max_examples=20)
    @given(st.binary(min_size=16, max_size=16))
    def prop(value):
        seen.append(value)

    prop()
    return seen


def test_the_profile_follows_the_ci_variable():
    assert settings().derandomize is bool(os.environ.get("CI"))
    assert settings().deadline is None  # timing belongs in `make perf`


def test_ci_draws_the_same_examples_every_run():
    first, second = _draws_twice("ci")
    assert first == second and len(set(first)) > 1


def test_a_developers_runs_explore_new_examples():
    first, second = _draws_twice("dev")
    assert first != second
