from __future__ import annotations

import pytest

from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.scenarios import Scenarios
from supportnavi.settings import REPO_ROOT
from supportnavi.understanding import ExampleClassifier


@pytest.fixture(scope="session")
def scenarios() -> Scenarios:
    return load_scenarios(REPO_ROOT / "scenarios")


@pytest.fixture(scope="session")
def classifier(scenarios: Scenarios) -> ExampleClassifier:
    """The encoder loads once for the whole session, and only for the tests that ask."""
    made = ExampleClassifier.for_scenarios(scenarios)
    made.load()
    return made
