"""The pure core: scenario model, loader and validator, and advance().

Nothing here imports FastAPI, SQLAlchemy or the LINE SDK; the engine is tested without I/O.
"""

from supportnavi.engine.advance import advance, trouble
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.outcome import Outcome, OutText, QuickReply, Step
from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.state import Follow, Input, OtherMessage, Postback, State, Text

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
