"""Typed scenario content, conversation state, inputs and outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supportnavi.engine import keys
from supportnavi.engine.hours import PushHours
from supportnavi.engine.keys import Action

if TYPE_CHECKING:
    from supportnavi.engine.links import LinkJudge
    from supportnavi.engine.sensitive import SecretGuard

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

FactStatus = Literal["current", "discontinued", "disputed"]
# What number_check can say about a phone number, from the fact sheet.
Verdict = Literal["amazon", "unconfirmed", "discontinued", "carrier", "unknown", "invalid"]
VERDICTS: tuple[Verdict, ...] = (
    "amazon", "unconfirmed", "discontinued", "carrier", "unknown", "invalid",
)
# What the link check can say about the links in a message (supportnavi.engine.links).
LinkVerdict = Literal["amazon", "lookalike", "unknown", "invalid"]
LINK_VERDICTS: tuple[LinkVerdict, ...] = ("amazon", "lookalike", "unknown", "invalid")
# What a message may hold that the bot must never receive (supportnavi.engine.sensitive).
SecretKind = Literal["card", "password", "code", "my_number"]
SECRET_KINDS: tuple[SecretKind, ...] = ("card", "password", "code", "my_number")
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
    """A quick-reply button. Exactly one of `to`, `route`, `uri`, `action` says where it leads;
    `do` (with `to`) changes the person's reminders first."""

    label: str = Field(min_length=1)
    to: str | None = None
    route: str | None = None
    uri: str | None = None
    action: Action | None = None
    # what the button does to the person's reminders before it moves on: stop them all
    # ("stop_all"), or set the hours pushes may come in ("window:9-21", a PushHours)
    do: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Button:
        targets = [t for t in (self.to, self.route, self.uri, self.action) if t is not None]
        if len(targets) != 1:
            raise ValueError("a button needs exactly one of: to, route, uri, action")
        if self.uri is not None and not self.uri.startswith(("https://", "{{")):
            raise ValueError("a uri button must open an https:// page")
        if self.do is not None and self.to is None:
            raise ValueError("a button with do: also needs to: (where it leads afterwards)")
        if self.do is not None and self.do != "stop_all" and not (
            self.do.startswith("window:")
            and PushHours.parse(self.do.removeprefix("window:")) is not None
        ):
            raise ValueError('do: is "stop_all" or "window:START-END" with 0 <= START < END '
                             "<= 24, e.g. \"window:9-21\"; a window must start before it ends")
        return self

    @property
    def key(self) -> keys.Key | None:
        """What the button's postback names, stable across edits that reorder buttons; None
        for a link, which posts nothing back."""
        if self.do is not None and self.to is not None:
            change = self.do.removeprefix("window:")
            return keys.Do(None if self.do == "stop_all" else PushHours.parse(change), self.to)
        if self.to is not None:
            return keys.To(self.to)
        if self.route is not None:
            return keys.Route(self.route)
        if self.action is not None:
            return keys.DoAction(self.action)
        return None


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


class LinkInput(_Strict):
    """A node that reads a pasted link and moves on by its domain's verdict."""

    kind: Literal["link"]
    next: dict[LinkVerdict, str]

    @model_validator(mode="after")
    def _every_verdict(self) -> LinkInput:
        missing = [v for v in LINK_VERDICTS if v not in self.next]
        if missing:
            raise ValueError(f"next needs a node for every verdict; missing: {missing}")
        return self


class Node(_Strict):
    say: list[str] = Field(min_length=1)
    buttons: list[Button] = Field(default_factory=list)
    end: bool = False
    title: str | None = None
    input: PhoneInput | LinkInput | None = Field(default=None, discriminator="kind")
    # A node that offers a reminder of this kind: it shows LINE's date picker and reads a typed
    # date (「12月5日」) too.
    remind: str | None = None
    # A node that lists the person's pending reminders, each with a stop button.
    show: Literal["reminders"] | None = None


class Route(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    menu_label: str | None = None
    names: list[str] = Field(default_factory=list)  # short names that open it when typed alone
    keywords: list[list[str]] = Field(default_factory=list)
    # What people type for this route, whole sentences: matched exactly, and the similarity
    # fallback (supportnavi.understanding) compares a message with them.
    examples: list[str] = Field(default_factory=list)
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
    pick_date: str  # the date picker's button
    reminders: str  # opens the list of one's reminders
    stop_numbered: str  # 「{n}を止める」 under the list
    revive_yes: str
    revive_no: str


class SystemTexts(_Strict):
    greeting: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    menu_prompt: str
    menu_other: str  # a line under the menu naming another page: {label}
    number_fallback: str  # what {number} reads as when the typed number is no longer at hand
    help: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    stale: str
    not_understood: str
    # when the bot itself failed on what the person sent: an apology, then the menu
    trouble: str
    other_message: str
    back_at_top: str
    resolved_question: str
    resolved_yes: str
    resolved_no: str
    # reminders: {name} 無料体験の終わり, {deadline} and {given} 12月5日(土), {pushes} one per
    # line, {window} 9時〜21時, {count}, {list}
    remind_set: str
    push_line: str  # one push in remind_set's {pushes}: {at} is 12月2日(水) 9:00
    window_hours: str  # what {window} reads as: {start} and {end} are hours
    remind_again: str  # the same reminder is already planned
    remind_past: str
    remind_too_late: str
    remind_bad_date: str
    reminders_none: str
    reminders_item: str  # one reminder in a list: {n} {name} {deadline}
    reminders_next: str  # the line under it in the list of pending ones: {next}
    reminders_more: str  # under a list longer than the stop buttons: {count}
    reminder_stopped: str
    reminder_gone: str  # a stop tapped for a reminder that is no longer pending
    revive_question: str
    revive_yes: str
    revive_no: str


class MenuPage(_Strict):
    """One page of the main menu: its routes, and the button that opens it from another page."""

    label: str = Field(min_length=1)
    routes: list[str] = Field(min_length=1)


class ReminderText(_Strict):
    """What a pushed reminder of one kind says ({deadline} is 12月5日(土)), and where its button
    leads. `name` is how lists and confirmations call it (「無料体験の終わり」)."""

    name: str = Field(min_length=1)
    text: str = Field(min_length=1)
    button: str = Field(min_length=1)
    route: str


class SecretText(_Strict):
    """How the warning names one kind of secret, and what to do if it was given away."""

    name: str = Field(min_length=1)
    given: str = Field(min_length=1)


class SecretWords(_Strict):
    """The words that mark a secret in typed text (engine/sensitive.py reads how each is used).
    A space in a word stands for any spaces."""

    password: list[str] = Field(min_length=1)
    code: list[str] = Field(min_length=1)
    card_code: list[str] = Field(min_length=1)
    pin: list[str] = Field(min_length=1)
    my_number: list[str] = Field(min_length=1)
    parcel: list[str] = Field(min_length=1)


class Safety(_Strict):
    """The checks run on every text message before anything else (see advance._Turn.text)."""

    # Registrable domains that are Amazon's own; fact templates, filled by the loader.
    amazon_domains: list[str] = Field(min_length=1)
    # "route.node" whose input verdicts answer a phone number or a link typed anywhere.
    phone_check: str = Field(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    link_check: str = Field(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    words: SecretWords
    # Amazon's names as look-alike domains borrow them (amaz0n-secure.example)
    brands: list[str] = Field(min_length=1)
    link_fallback: str  # what {link} reads as when the typed link is no longer at hand
    domain_fallback: str  # and {domain}
    # The warning on a secret, one bubble each: {name}, and {given} for what to do now.
    secret_warning: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    secrets: dict[SecretKind, SecretText]

    @model_validator(mode="after")
    def _every_kind(self) -> Safety:
        missing = [k for k in SECRET_KINDS if k not in self.secrets]
        if missing:
            raise ValueError(f"secrets needs a text for every kind; missing: {missing}")
        return self


# The rich menu's tiles: a tab of RICHMENU_COLUMNS x RICHMENU_ROWS areas under a tab bar. A
# tile's label is drawn large, so it is short: at most RICHMENU_LABEL_LINES lines of at most
# RICHMENU_LINE_CHARS characters. Icons are shapes supportnavi.richmenu draws, by name.
RICHMENU_COLUMNS = 3
RICHMENU_ROWS = 2
RICHMENU_LINE_CHARS = 6
RICHMENU_LABEL_LINES = 2
RICHMENU_CHAT_BAR = 14  # LINE's limit for chatBarText
RichMenuIcon = Literal[
    "crown", "hourglass", "pause", "phone", "bell", "list",
    "truck", "return", "cancel", "key", "shield", "search",
]


class RichMenuArea(_Strict):
    """One tile: it opens `route`, or does `action` (the menu), like the menu's button."""

    label: str = Field(min_length=1)
    icon: RichMenuIcon
    route: str | None = None
    action: Literal["menu"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RichMenuArea:
        if (self.route is None) == (self.action is None):
            raise ValueError("a rich-menu area needs exactly one of: route, action")
        return self

    @property
    def key(self) -> keys.Key:
        """The postback key a menu button with the same target carries."""
        if self.route is not None:
            return keys.Route(self.route)
        return keys.DoAction("menu")


class RichMenuTab(_Strict):
    """One tabbed rich menu; `alias` names its rich-menu alias (supportnavi-<alias>)."""

    alias: str = Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")
    label: str = Field(min_length=1, max_length=RICHMENU_LINE_CHARS)
    areas: list[RichMenuArea] = Field(
        min_length=RICHMENU_COLUMNS * RICHMENU_ROWS, max_length=RICHMENU_COLUMNS * RICHMENU_ROWS
    )


class RichMenu(_Strict):
    chat_bar: str = Field(min_length=1, max_length=RICHMENU_CHAT_BAR)
    tabs: list[RichMenuTab] = Field(min_length=2, max_length=2)


class Greeting(_Strict):
    words: list[str] = Field(min_length=1)
    reply: str = Field(min_length=1)


class Understanding(_Strict):
    """Typed text that is no route: greetings, other companies, and what the bot can help with.

    `other_services` is a negative signal: a message naming one of them and none of
    `amazon_terms` (「楽天の解約」, 「ドコモを解約したい」) is out of scope, whatever keywords it
    also holds. `out_of_scope` are sentences the similarity fallback compares too: nearest to
    one of them means "none of ours"."""

    # A message made only of greeting words gets the reply of the group of its last word.
    greetings: list[Greeting] = Field(min_length=1)
    unknown: str  # what the bot can help with, above the menu, for text that is none of ours
    other_services: list[str] = Field(default_factory=list)
    amazon_terms: list[str] = Field(default_factory=list)
    out_of_scope: list[str] = Field(default_factory=list)


class SystemFile(_Strict):
    menu: list[MenuPage] = Field(min_length=1)
    understanding: Understanding
    richmenu: RichMenu | None = None
    safety: Safety
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
    # Judges links against safety.amazon_domains; built by the loader, which reads the bundled
    # public suffix list once, so that advance() never does. None: links are not checked.
    links: LinkJudge | None = None
    # Finds secrets with safety.words, compiled once by the loader. None: none are looked for.
    secrets: SecretGuard | None = None

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


# --- reminders, as the engine sees them ---------------------------------------------------------
# The date rules live in supportnavi.reminders; the service hands the engine a Planner that
# applies them, and the person's reminders, so that advance() stays pure.


@dataclass(frozen=True)
class ReminderInfo:
    """One of the person's reminders: what the list shows and a stop button names."""

    kind: str
    given: date
    deadline: date
    next_push: datetime  # UTC


@dataclass(frozen=True)
class DatePlan:
    """The planner's answer for a date: the pushes, or why there are none."""

    deadline: date
    pushes: tuple[datetime, ...] = ()  # UTC
    refused: Literal["past", "too_late"] | None = None


class Planner(Protocol):
    def today(self, now: datetime) -> date: ...

    def parse(self, kind: str, text: str, now: datetime) -> date | None: ...

    def usable(self, given: date, now: datetime) -> bool:
        """Whether a date lies near enough to today for any reminder (a typed 9999年 does not)."""
        ...

    def bounds(self, kind: str, now: datetime) -> tuple[date, date, date]:
        """The date picker's initial, min and max dates for this kind."""
        ...

    def plan(self, kind: str, given: date, now: datetime, hours: PushHours) -> DatePlan: ...

    def day(self, day: date, now: datetime) -> str:
        """12月5日(土); with its year when far from today in another year"""
        ...

    def moment(self, at: datetime, now: datetime) -> str:
        """12月2日(水) 9:00, in the bot's time zone"""
        ...


# --- understanding typed text -------------------------------------------------------------------
# The similarity fallback (a sentence encoder) lives in supportnavi.understanding; the service
# hands the engine a Classifier, so that advance() stays pure and never loads a model.

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Guess:
    """A route id, or UNKNOWN, and how sure: 1.0 for a name, example or keyword match, the
    similarity for the classifier's guess."""

    route: str
    score: float
    how: Literal["greeting", "other_service", "name", "example", "keywords", "similar",
                 "unknown"]
    reply: str = ""  # for a greeting: what to answer


class Classifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]:
        """The nearest route for normalised text, or UNKNOWN below the classifier's threshold,
        with its similarity."""
        ...


@dataclass(frozen=True)
class Context:
    """What advance() may know beyond the state. `reminders` and `skipped` are None when the
    service has not loaded them; an input that needs them asks (Outcome.needs_reminders)."""

    planner: Planner | None = None
    classifier: Classifier | None = None  # None: typed text is routed by names and keywords only
    window: PushHours = field(default_factory=PushHours)
    reminders: tuple[ReminderInfo, ...] | None = None  # pending, soonest first
    skipped: tuple[ReminderInfo, ...] | None = None  # stopped while the person had blocked us


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
    "resolved_no", "follow", "other_message", "remind", "reminder_stop", "window", "revive",
    "secret", "greeting", "trouble",
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
    effects: list[Effect] = field(default_factory=list)
    # the input needs the person's reminders: load them into the Context and call again
    needs_reminders: bool = False
