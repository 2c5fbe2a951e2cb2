"""The engine's words for things: the kinds of facts, verdicts, secrets, reminders, steps and
buttons, each a closed set. A leaf: it imports nothing of ours."""

from __future__ import annotations

from typing import Literal

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
# `pin` is a card's or an account's 暗証番号, `security_code` the digits on a card's back (CVV).
SecretKind = Literal["card", "password", "code", "my_number", "pin", "security_code"]
SECRET_KINDS: tuple[SecretKind, ...] = (
    "card", "password", "code", "my_number", "pin", "security_code")
# Fact kinds that are phone numbers: whose number it is decides the verdict. `phone` is one the
# guides report as Amazon's; `unconfirmed_phone` one that a single guide gives and none confirms.
PHONE_KINDS = ("phone", "unconfirmed_phone", "carrier_phone")
# Fact kinds that are ours, not a guide's, so they name no source and their note says why:
# `policy`, a choice of ours (how long before a deadline to push, which short domains we treat
# as Amazon's); `example`, a made-up value that shows what to type (「12月5日」).
OWN_KINDS = ("policy", "example")
# A fact that counts guides (「4つ」): its number must be how many guides its sources name.
GUIDE_COUNT = "guide_count"
# The kinds of deadline reminder (their date rules are in supportnavi.reminders.rules).
REMINDER_KINDS = (
    "trial_cancel", "prime_renewal", "prime_pause_end", "return_window", "account_close_mail",
    "support_followup", "seller_reply",
)

# What `understand` answers for text that is none of ours.
UNKNOWN = "unknown"

# What a button under a bubble does: post back, open a page, open LINE's date picker.
QuickReplyKind = Literal["postback", "uri", "date"]

# One line of the step history (what an input did), by kind.
StepKind = Literal[
    "enter", "back", "restart", "menu", "help", "stale", "unmatched", "resolved_yes",
    "resolved_no", "follow", "other_message", "remind", "reminder_stop", "window", "revive",
    "secret", "greeting", "trouble", "ask", "renewed",
]
