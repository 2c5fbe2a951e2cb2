"""What the sentence encoder is given: at most a sentence's worth of text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from supportnavi.understanding import encoder, examples_of

HERE = Path(__file__).parent


class _Recording:
    """Stands in for the model: records what it is asked to encode."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def encode(self, texts: list[str]) -> Any:
        self.given.extend(texts)
        return np.zeros((len(texts), 512), dtype=np.float32)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> _Recording:
    recording = _Recording()
    monkeypatch.setattr(encoder, "_model", lambda: recording)
    return recording


def test_a_long_message_is_encoded_by_its_beginning_only(model: _Recording) -> None:
    # The encoder's tokenizer and n-gram layers grow with the text (a 5,000-character message
    # took 0.35 s); the route a message asks for is said in its first sentences.
    long = "荷物が届かない。" + "あ" * 5000
    encoder.encode([long, "荷物が届かない"])
    assert model.given == [long[:encoder.MAX_CHARS], "荷物が届かない"]


def test_every_example_and_test_message_fits_whole(scenarios) -> None:
    # so that the cut changes nothing the classifier was tuned or is tested on
    texts = [text for _, text in examples_of(scenarios)]
    for name in ("heldout.yaml", "intents_dev.yaml"):
        data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
        texts += [text for messages in data.values() for text in messages]
    assert max(map(len, texts)) <= encoder.MAX_CHARS
