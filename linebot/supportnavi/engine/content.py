"""The scenario files' schema: routes, nodes and buttons, facts, and system.yaml, as pydantic
models that refuse what they do not know (`extra="forbid"`). The loader validates with them;
the engine reads them."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supportnavi.engine import keys
from supportnavi.engine.hours import PushHours
from supportnavi.engine.keys import Action
from supportnavi.engine.limits import (
    MAX_MESSAGES,
    RICHMENU_CHAT_BAR,
    RICHMENU_COLUMNS,
    RICHMENU_LINE_CHARS,
    RICHMENU_ROWS,
)
from supportnavi.engine.vocab import (
    LINK_VERDICTS,
    SECRET_KINDS,
    VERDICTS,
    FactStatus,
    LinkVerdict,
    SecretKind,
    Verdict,
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

    @cached_property
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
    # What people type that names this branch of the route: typed, it opens this node
    # directly (with 戻る to the route's start), as the route's own words open its start.
    examples: list[str] = Field(default_factory=list)
    keywords: list[list[str]] = Field(default_factory=list)
    # An end that only informs (how to ask for a reminder, the hours changed): it closes the
    # route without asking 「解決しましたか？」, so it shows no はい/いいえ either.
    informational: bool = False
    # On an end: the node 「いいえ、まだ」 opens, instead of the general answer and a way to the
    # contact route (which is no way on from the contact route's own end).
    unresolved: str | None = None
    # On a `show: reminders` node: the node shown instead while the person has none to list
    # (no "here are your reminders", no 「すべて止める」).
    empty: str | None = None

    @model_validator(mode="after")
    def _end_fields(self) -> Node:
        if self.informational and not self.end:
            raise ValueError("informational: true is for an end (end: true)")
        if self.unresolved is not None and not self.asks:
            raise ValueError("unresolved: is for an end that asks 解決しましたか？ (end: true, "
                             "not informational)")
        if self.empty is not None and self.show != "reminders":
            raise ValueError("empty: is for a node that lists reminders (show: reminders)")
        return self

    @property
    def asks(self) -> bool:
        """Whether the node asks 「解決しましたか？」 (with はい/いいえ): an end, unless it only
        informs."""
        return self.end and not self.informational


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
    # A route whose steps cannot be undone (closing the account): opened by typing only on a
    # confident match (a name, an example, keywords), else offered among the candidates.
    confident_only: bool = False


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
    stop_numbered: str  # 「{n}. {name}を止める」 under the list: the button names the reminder
    revive_yes: str
    revive_no: str


class SystemTexts(_Strict):
    greeting: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    menu_prompt: str
    menu_other: str  # a line under the menu naming another page: {label}
    number_fallback: str  # what {number} reads as when the typed number is no longer at hand
    help: list[str] = Field(min_length=1, max_length=MAX_MESSAGES - 1)
    # one sentence under the help while the inbox keeps what the bot could not read: {days}
    help_unmatched: str
    stale: str
    # to a person whose screen an edit of the scenarios removed, before their route's start
    # (or the menu, when the route is gone too)
    renewed: str
    not_understood: str
    # asking which route was meant: {first} is the first candidate's name
    ask: str
    # asking which of several a bare word could mean (「解約」)
    ask_which: str
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
    # Latin words that, after a password word, are talk about it, not the password itself
    # (「パスワードは Amazon と同じ」, 「password reset」): compared without case.
    not_password: list[str] = Field(min_length=1)
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


class Ambiguous(_Strict):
    """A word that could mean several routes (「解約」: Prime, a trial, an order, the account):
    typed alone (or with the filler of a request), the bot asks which."""

    words: list[str] = Field(min_length=1)
    routes: list[str] = Field(min_length=2)


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
    ambiguous: list[Ambiguous] = Field(default_factory=list)
    # はい and いいえ as people say them, where a screen asks yes or no
    yes_words: list[str] = Field(default_factory=list)
    no_words: list[str] = Field(default_factory=list)


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
