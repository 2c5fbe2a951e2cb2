"""Typed scenario content, conversation state, inputs and outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# LINE's limits (Messaging API reference): a reply holds at most 5 messages, a quick reply at
# most 13 items, a quick-reply label at most 20 characters, postback data at most 300 characters
# and a text message at most 5000 UTF-16 code units.
MAX_MESSAGES = 5
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_TEXT_UTF16 = 5000
# The engine may put one notice before a node's bubbles (a stale tap, a word it did not
# understand), and adds back + menu to every node's buttons.
NAV_BUTTONS = 2
MAX_NODE_BUBBLES = MAX_MESSAGES - 1

Action = Literal["menu", "back", "restart", "help"]
FactStatus = Literal["current", "discontinued", "disputed"]
# What number_check can say about a phone number, from the fact sheet.
Verdict = Literal["amazon", "unconfirmed", "discontinued", "carrier", "unknown", "invalid"]
VERDICTS: tuple[Verdict, ...] = (
    "amazon", "unconfirmed", "discontinued", "carrier", "unknown", "invalid",
)
# Fact kinds that are phone numbers: whose number it is decides the verdict. `phone` is one the
# guides report as Amazon's; `unconfirmed_phone` one that a single guide gives and none confirms.
PHONE_KINDS = ("phone", "unconfirmed_phone", "carrier_phone")
# The kinds of deadline reminder (their date rules are in supportnavi.reminders.rules).
REMINDER_KINDS = (
    "trial_cancel", "prime_renewal", "prime_pause_end", "return_window", "account_close_mail",
    "support_followup", "seller_reply",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Button(_Strict):
    """A quick-reply button. Exactly one of `to`, `route`, `uri`, `action` says where it leads."""

    label: str = Field(min_length=1)
    to: str | None = None
    route: str | None = None
    uri: str | None = None
    action: Action | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Button:
        targets = [t for t in (self.to, self.route, self.uri, self.action) if t is not None]
        if len(targets) != 1:
            raise ValueError("a button needs exactly one of: to, route, uri, action")
        if self.uri is not None and not self.uri.startswith(("https://", "{{")):
            raise ValueError("a uri button must open an https:// page")
        return self

    @property
    def key(self) -> str:
        """What the button's postback names, stable across edits that reorder buttons."""
        if self.to is not None:
            return f"to:{self.to}"
        if self.route is not None:
            return f"route:{self.route}"
        if self.action is not None:
            return f"action:{self.action}"
        return f"uri:{self.uri}"


class PhoneInput(_Strict):
    """A node that reads a typed phone number and moves on by the fact sheet's verdict."""

    kind: Literal["phone"]
    next: dict[Verdict, str]

    @model_validator(mode="after")
    def _every_verdict(self) -> PhoneInput:
        missing = [v for v in VERDICTS if v not in self.next]
        if missing:
            raise ValueError(f"next needs a node for every verdict; missing: {missing}")
        return self


class Node(_Strict):
    say: list[str] = Field(min_length=1)
    buttons: list[Button] = Field(default_factory=list)
    end: bool = False
    title: str | None = None
    input: PhoneInput | None = None


class Route(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    menu_label: str | None = None
    names: list[str] = Field(default_factory=list)  # short names that open it when typed alone
    keywords: list[list[str]] = Field(default_factory=list)
    start: str
    nodes: dict[str, Node]


class Fact(_Strict):
    value: str
    sources: list[str] = Field(default_factory=list)
    status: FactStatus
    note: str = ""
    kind: str = "text"
    use: str = ""  # for a phone number: whose it is and what for, as the bot tells a person


class SystemLabels(_Strict):
    back: str
    menu: str
    restart: str
    help: str
    resolved_yes: str
    resolved_no: str
    contact: str
    stop_reminder: str


class SystemTexts(_Strict):
    greeting: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    menu_prompt: str
    menu_other: str  # a line under the menu naming another page: {label}
    number_fallback: str  # what {number} reads as when the typed number is no longer at hand
    help: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    stale: str
    not_understood: str
    other_message: str
    back_at_top: str
    resolved_question: str
    resolved_yes: str
    resolved_no: str


class MenuPage(_Strict):
    """One page of the main menu: its routes, and the button that opens it from another page."""

    label: str = Field(min_length=1)
    routes: list[str] = Field(min_length=1)


class ReminderText(_Strict):
    """What a pushed reminder of one kind says ({deadline} is 12月5日(土)), and where its button
    leads."""

    text: str = Field(min_length=1)
    button: str = Field(min_length=1)
    route: str


class SystemFile(_Strict):
    menu: list[MenuPage] = Field(min_length=1)
    reminders: dict[str, ReminderText] = Field(default_factory=dict)
    contact_route: str
    labels: SystemLabels
    texts: SystemTexts
    commands: dict[Action, list[str]]


@dataclass(frozen=True)
class Scenarios:
    """Everything the engine knows, validated and with fact templates already filled in."""

    routes: dict[str, Route]
    facts: dict[str, Fact]
    system: SystemFile
    phone_facts: dict[str, str] = field(default_factory=dict)  # E.164 number -> fact key

    @property
    def menu_routes(self) -> list[str]:
        """Every route of the menu, in the order the menu numbers them (1, 2, ...)."""
        return [r for page in self.system.menu for r in page.routes]


class State(BaseModel):
    """Where one person is. `route is None` means at the menu."""

    route: str | None = None
    node: str | None = None
    stack: list[tuple[str, str]] = Field(default_factory=list)
    vars: dict[str, str] = Field(default_factory=dict)

    MAX_STACK: int = Field(default=30, exclude=True, repr=False)


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Follow:
    pass


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Postback:
    data: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OtherMessage:
    kind: str


Input = Follow | Text | Postback | OtherMessage


# --- outcome ------------------------------------------------------------------------------------

QuickReplyKind = Literal["postback", "uri", "date"]


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


StepKind = Literal[
    "enter", "back", "restart", "menu", "help", "stale", "unmatched", "resolved_yes",
    "resolved_no", "follow", "other_message",
]


@dataclass(frozen=True)
class Step:
    """One line of the step history: analytics and audit, never the words a person typed."""

    kind: StepKind
    route: str | None
    node: str | None


@dataclass(frozen=True)
class Outcome:
    state: State
    messages: list[OutText]
    steps: list[Step]
    resolved: str  # what the input resolved to, e.g. "button:to:web_1" or "command:back"
