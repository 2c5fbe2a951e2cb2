"""What `advance()` answers: the messages and their buttons, the steps for the history, the
effects the service must apply to the person's reminders, and the new state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from supportnavi.engine.state import State
from supportnavi.engine.vocab import QuickReplyKind, StepKind

# --- effects: what the service must do to the person's reminders --------------------------------


@dataclass(frozen=True)
class Schedule:
    kind: str
    given: date
    deadline: date
    pushes: tuple[datetime, ...]


@dataclass(frozen=True)
class StopReminder:
    kind: str
    given: date


@dataclass(frozen=True)
class StopAll:
    pass


@dataclass(frozen=True)
class SetWindow:
    start: int
    end: int


@dataclass(frozen=True)
class Revive:
    """After a new follow: keep (True) or drop (False) what was skipped while blocked."""

    keep: bool


Effect = Schedule | StopReminder | StopAll | SetWindow | Revive


# --- outcome ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuickReply:
    """A button under a bubble. `date` opens LINE's date picker (YYYY-MM-DD bounds in
    `initial`, `min`, `max`) and posts `data` back with the chosen date."""

    label: str
    kind: QuickReplyKind
    data: str = ""
    uri: str = ""
    initial: str = ""
    min: str = ""
    max: str = ""


@dataclass(frozen=True)
class OutText:
    text: str
    quick_replies: tuple[QuickReply, ...] = ()


@dataclass(frozen=True)
class Step:
    """One line of the step history: analytics and audit, never the words a person typed."""

    kind: StepKind
    route: str | None
    node: str | None


@dataclass(frozen=True)
class Place:
    """A route, at its start (`node` None) or at one of its branches."""

    route: str
    node: str | None = None


@dataclass(frozen=True)
class Guess:
    """One of the interpreter's best guesses for a text: a place and how sure."""

    route: str
    node: str | None
    score: float


@dataclass(frozen=True)
class Understood:
    """What typed text was read as: the kind that decided (engine/interpret.py's `Kind`), how
    sure, the places offered when the bot asked which was meant, and the interpreter's best
    guesses (at most three, best first), which even `unknown` carries: the nearest examples'
    places, below the threshold."""

    kind: str
    score: float = 0.0
    candidates: tuple[Place, ...] = ()
    guesses: tuple[Guess, ...] = ()


@dataclass(frozen=True)
class Unmatched:
    """Typed text the bot could not place, for the operators' inbox (issue 18): redacted
    (engine/redact.py: no secret, phone number, e-mail, URL or long number), where it was
    typed (`route` None: the menu) and the interpreter's best guesses. Never who typed it."""

    text: str
    route: str | None
    node: str | None
    guesses: tuple[Guess, ...] = ()


@dataclass(frozen=True)
class Outcome:
    state: State
    messages: list[OutText]
    steps: list[Step]
    resolved: str  # what the input resolved to, e.g. "button:to:web_1" or "command:back"
    effects: list[Effect] = field(default_factory=list)
    # the input needs the person's reminders: load them into the Context and call again
    needs_reminders: bool = False
    understood: Understood | None = None  # typed text only
    unmatched: Unmatched | None = None  # typed text the bot could not place, redacted
