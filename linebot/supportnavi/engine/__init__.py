"""The pure core: scenario model, loader and validator, and advance().

Nothing here imports FastAPI, SQLAlchemy or the LINE SDK; the engine is tested without I/O.
"""

from supportnavi.engine.advance import advance, trouble
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.model import (
    Follow,
    Input,
    OtherMessage,
    Outcome,
    OutText,
    Postback,
    QuickReply,
    Scenarios,
    State,
    Step,
    Text,
)

__all__ = [
    "Follow",
    "Input",
    "OtherMessage",
    "OutText",
    "Outcome",
    "Postback",
    "QuickReply",
    "Scenarios",
    "State",
    "Step",
    "Text",
    "advance",
    "load_scenarios",
    "trouble",
]
