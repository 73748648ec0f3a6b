"""Shared fixtures (paths only; each tier builds what it needs) and the Hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"

# Property tests explore at random on a developer's machine (new examples each run; a failure
# is saved in .hypothesis/ and replayed first next time) and run the same examples on every CI
# run (CI set, as CI systems and .ci/run do): CI turns red because the code changed, never
# because of the draw. Shrink a CI failure locally with the blob it prints. No deadline in
# either: timing claims belong in `make perf`, and a busy 2-core machine must not fail a test.
# Both derive from Hypothesis' own "default" profile: a new profile otherwise inherits the one
# active when it is registered, which is Hypothesis' built-in "ci" when CI is set.
# HealthCheck.too_slow is a timing check too.
_BASE = {
    "parent": settings.get_profile("default"),
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
}
settings.register_profile("dev", **_BASE)
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_BASE)


def load_hypothesis_profile() -> str:
    name = "ci" if os.environ.get("CI") else "dev"
    settings.load_profile(name)
    return name


load_hypothesis_profile()


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
