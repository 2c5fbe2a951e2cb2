"""Nearest example: a message goes to the route one of whose examples it is most similar to.

Each route's `examples:` and system.yaml's `out_of_scope:` sentences are encoded once. A message
is encoded (about 3 ms) and compared with all of them (one matrix-vector product); the route of
the most similar example wins if that similarity reaches THRESHOLD. Nearest to an out-of-scope
sentence, or below the threshold, is UNKNOWN: a wrong route said with confidence is worse than
the menu.
"""

from __future__ import annotations

import threading

import numpy as np

from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.text import normalize
from supportnavi.engine.vocab import UNKNOWN
from supportnavi.understanding import encoder

# Chosen on our own held-out messages (tests/understanding/heldout.yaml), not on the dev set:
# the lowest threshold at which at least 90% of the held-out out-of-scope messages are unknown
# with names, keywords and other companies' names already applied; `bench/classify.py --sweep`
# prints the table it was read from.
THRESHOLD = 0.5


def examples_of(scenarios: Scenarios) -> list[tuple[str, str]]:
    """(target, sentence) for every example the classifier compares with: a route's examples
    lead to the route (`returns`), a branch's to it (`prime_cancel.video_only`), the
    out-of-scope sentences to UNKNOWN."""
    pairs = [(route_id, text) for route_id, route in scenarios.routes.items()
             for text in route.examples]
    pairs += [(f"{route_id}.{node_id}", text) for route_id, route in scenarios.routes.items()
              for node_id, node in route.nodes.items() for text in node.examples]
    pairs += [(UNKNOWN, text) for text in scenarios.system.understanding.out_of_scope]
    return pairs


class ExampleClassifier:
    """The engine's Classifier. Cheap to make; `load()` encodes the examples (and loads the
    encoder, once per process), and the first `classify` does it if nobody did."""

    def __init__(self, examples: list[tuple[str, str]], threshold: float = THRESHOLD) -> None:
        if not examples:
            raise ValueError("the classifier needs examples")
        self.threshold = threshold
        self._routes = [route for route, _ in examples]
        self._texts = [normalize(text) for _, text in examples]
        self._vectors: encoder.Vectors | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_scenarios(cls, scenarios: Scenarios, threshold: float = THRESHOLD) -> ExampleClassifier:
        return cls(examples_of(scenarios), threshold)

    def load(self) -> None:
        with self._lock:
            if self._vectors is None:
                self._vectors = encoder.encode_fixed(tuple(self._texts))

    def nearest(self, text: str) -> tuple[str, float]:
        """The route of the most similar example and that similarity, whatever it is."""
        if self._vectors is None:
            self.load()
        assert self._vectors is not None
        similarities = self._vectors @ encoder.encode([text])[0]
        best = int(np.argmax(similarities))
        return self._routes[best], float(similarities[best])

    def classify(self, text: str) -> tuple[str, float]:
        route, score = self.nearest(text)
        return (route if score >= self.threshold else UNKNOWN), round(score, 4)

    def rank(self, text: str, most: int = 8) -> list[tuple[str, float]]:
        """The targets of the nearest examples, each once with its best similarity, best
        first (at most `most`)."""
        if self._vectors is None:
            self.load()
        assert self._vectors is not None
        similarities = self._vectors @ encoder.encode([text])[0]
        ranked: list[tuple[str, float]] = []
        for index in np.argsort(-similarities):
            label = self._routes[int(index)]
            if all(label != seen for seen, _ in ranked):
                ranked.append((label, float(similarities[index])))
                if len(ranked) == most:
                    break
        return ranked
