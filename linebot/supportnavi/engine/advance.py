"""advance(): one input in, the next state and the bot's answer out. No I/O.

Over 450 lines: `_Turn` is one turn's working state, and its parts (reading the input, what a
key does, reminders, moving, drawing the buttons) all read and change it; the leaf concepts it
uses live apart (keys, hours, outcome, ports, text)."""

from __future__ import annotations

from datetime import date, datetime

from phonenumbers import PhoneNumber

from supportnavi.engine import keys, phones, postback
from supportnavi.engine.content import Button, Node, Route
from supportnavi.engine.hours import PushHours
from supportnavi.engine.interpret import (
    Candidate,
    Screen,
    Target,
    lexicon,
    on_screen,
    plain,
    route_for,
    typed,
)
from supportnavi.engine.keys import Action, format_key
from supportnavi.engine.limits import MAX_LABEL, MAX_MESSAGES, MAX_QUICK_REPLIES, NAV_BUTTONS
from supportnavi.engine.links import Link
from supportnavi.engine.outcome import (
    Effect,
    Guess,
    Outcome,
    OutText,
    Place,
    QuickReply,
    Revive,
    Schedule,
    SetWindow,
    Step,
    StopAll,
    StopReminder,
    Understood,
    Unmatched,
)
from supportnavi.engine.ports import Context, ReminderInfo
from supportnavi.engine.postback import global_reply
from supportnavi.engine.redact import redact
from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.state import Follow, Input, OtherMessage, Postback, State, Text
from supportnavi.engine.text import small_number
from supportnavi.engine.vocab import SecretKind

MENU = keys.DoAction("menu")
BACK = keys.DoAction("back")


def advance(
    scenarios: Scenarios, state: State, event: Input, now: datetime,
    context: Context | None = None,
) -> Outcome:
    """Decide what one input does, at `now` (the caller's clock).

    Without a planner in the context, reminders are off: nodes offer no date picker. When the
    input needs the person's reminders and the context lacks them, the outcome only says so
    (`needs_reminders`): the caller loads them and calls again.
    """
    turn = _Turn(scenarios, state.copy_for_turn(), now, context or Context())
    try:
        if isinstance(event, Follow):
            return turn.follow()
        # An edit of the scenarios (reloaded while the person was away) removed their screen:
        # they continue from their route's start, or the menu.
        moved = turn.relocate()
        if isinstance(event, Postback):
            return turn.postback(event)  # a button of the removed screen is stale
        if isinstance(event, Text):
            return turn.text(event.text, moved=moved)
        if isinstance(event, OtherMessage):
            return turn.renewed() if moved else turn.other_message(event.kind)
    except _NeedReminders:
        return Outcome(state=state, messages=[], steps=[], resolved="needs:reminders",
                       needs_reminders=True)
    raise TypeError(f"not an engine input: {event!r}")


def trouble(scenarios: Scenarios, state: State) -> Outcome:
    """The answer when the bot itself failed on an input (advance raised): an apology and the
    menu. The person starts again from the menu, since where they were may be what failed."""
    turn = _Turn(scenarios, State(), datetime.min, Context())
    turn.steps.append(Step("trouble", state.route, state.node))
    turn._say(scenarios.system.texts.trouble)
    turn._show_menu(prompt=False)
    return turn._done("trouble")


class _NeedReminders(Exception):
    """The answer depends on the person's reminders, which the context does not hold."""


class _Turn:
    """The working state of one call to advance()."""

    def __init__(self, scenarios: Scenarios, state: State, now: datetime, ctx: Context) -> None:
        self.sc = scenarios
        self.state = state
        self.now = now
        self.ctx = ctx
        self.window = ctx.window
        self.system = scenarios.system
        self.messages: list[OutText] = []
        self.steps: list[Step] = []
        self.effects: list[Effect] = []
        # Filled into {number} for this one answer; a typed number is never kept in the state.
        self.number: str | None = None
        self.link: Link | None = None  # likewise {link} and {domain}
        self.understood: Understood | None = None  # what typed text was read as
        self.typed: str | None = None  # the text being read, for the inbox (redacted there)
        self.unmatched: Unmatched | None = None
        # The person's pending reminders as this turn leaves them (a stop removes one).
        self.pending: list[ReminderInfo] | None = (
            None if ctx.reminders is None else list(ctx.reminders)
        )

    # --- inputs ----------------------------------------------------------------------------

    def follow(self) -> Outcome:
        self.state = State()
        self.steps.append(Step("follow", None, None))
        self._say(*self.system.texts.greeting)
        skipped = self._skipped()
        if not skipped:
            self._show_menu()
            return self._done("follow")
        # Back after blocking: what was stopped then is not resumed silently; ask.
        texts, labels = self.system.texts, self.system.labels
        items = [texts.reminders_item.format(n=i, name=self._kind_name(r.kind),
                                             deadline=self._day(r.deadline))
                 for i, r in enumerate(skipped, start=1)]
        self._say(texts.revive_question.format(count=len(skipped), list="\n".join(items)))
        self._attach([global_reply(labels.revive_yes, keys.Revive(True)),
                      global_reply(labels.revive_no, keys.Revive(False)),
                      global_reply(labels.menu, MENU)])
        return self._done("follow:revive?")

    def postback(self, event: Postback) -> Outcome:
        """Button data is honoured only as the bot made it: a node's button only on that node
        while it shows it, and a button valid from anywhere (the menu, a push's stop, the rich
        menu) only with a key such buttons carry. Anything else is a stale or forged tap."""
        tap = postback.decode(event.data)
        if tap is None:
            return self._stale("postback:unknown")
        if tap.route is None:
            if not self._global_key(tap.key):
                return self._stale("postback:unknown")
        elif ((tap.route, tap.node) != (self.state.route, self.state.node)
              or not self._button_is_shown(tap.key)):
            return self._stale("postback:stale")
        if isinstance(tap.key, keys.Remind):
            return self._date_picked(event.params.get("date", ""))
        return self._do(tap.key, f"button:{format_key(tap.key)}")

    def relocate(self) -> bool:
        """True when the person stood on a node that no longer exists; they are moved to their
        route's start, or to the menu when the route is gone too."""
        route_id, node_id = self.state.route, self.state.node
        if route_id is None or self._here() is not None:
            return False
        self.steps.append(Step("renewed", route_id, node_id))
        route = self.sc.routes.get(route_id)
        if route is not None:
            self.state.node = route.start
        else:
            self.state.route = self.state.node = None
        return True

    def renewed(self) -> Outcome:
        """「この画面は新しくなりました」, then where relocate() put the person."""
        self._say(self.system.texts.renewed)
        self._show_here()
        return self._done("renewed")

    def _global_key(self, key: keys.Key) -> bool:
        """A key that buttons valid from anywhere carry: open a route, a menu page, the menu or
        the help, stop one reminder, and the answer to "keep what was skipped?"."""
        match key:
            case keys.Route(route):
                return route in self.sc.routes
            case keys.Menu(page):
                return page < len(self.system.menu)
            case keys.DoAction(action):
                return action in ("menu", "help")
            case keys.Stop() | keys.Revive():
                return True
            case keys.Open(route, node):
                return self._opens(route, node)
        return False

    def _opens(self, route: str, node: str) -> bool:
        """A branch typed words may open: one with words of its own."""
        found = self.sc.routes.get(route)
        spec = found.nodes.get(node) if found is not None else None
        return spec is not None and bool(spec.examples or spec.keywords)

    def text(self, raw: str, *, moved: bool = False) -> Outcome:
        """Typed text, read by the one interpreter (engine/interpret.py) in its order; what
        decided is kept in `understood` (`supportnavi classify` prints it). `moved`: the
        person's screen was removed (relocate()); what they typed meant that screen, so after
        the safety checks they are told and shown where they are now."""
        self.typed = raw
        # Safety first, before commands, dates, numbers or routing: a secret is answered with a
        # warning and goes no further; a link or a phone number anywhere gets its verdict.
        secret = self.sc.secrets.find(raw) if self.sc.secrets is not None else None
        if secret is not None:
            self._understood("secret")
            return self._secret(secret)
        if self.sc.links is not None:
            link = self.sc.links.judge(raw)
            if link.verdict != "invalid":
                self._understood("link")
                return self._link_verdict(link)
        here = self._here()
        if here is None or here[1].input is None or here[1].input.kind != "phone":
            number = phones.find(raw)
            if number is not None:
                self._understood("phone")
                return self._phone_verdict(number)
        if moved:
            return self.renewed()
        read = self.ctx.reader or plain
        lex = lexicon(self.sc, read)
        text = typed(raw, read)
        if not text.surface:
            self._understood("empty", 0.0)
            return self._not_understood()
        on = on_screen(lex, text, self._screen(), read)
        if on is not None:
            self._understood(on.kind)
            if on.kind == "command":
                return self._do(keys.DoAction(on.detail), f"command:{on.detail}")
            return self._do(on.detail, f"{on.kind}:{format_key(on.detail)}")
        if here is not None and here[1].remind is not None and self.ctx.planner is not None:
            given = self.ctx.planner.parse(here[1].remind, raw, self.now)
            if given is not None:
                self._understood("date")
                return self._schedule(here[1].remind, given, "text:date")
            if any(c.isdigit() for c in text.surface):
                self._understood("bad_date", 0.0)
                return self._bad_date("text:bad_date")
        if here is not None and here[1].input is not None and any(
                c.isdigit() for c in text.surface):
            self._understood("verdict")
            return self._verdict(raw)
        choice = small_number(text.surface) if here is None else None
        if choice is not None:
            menu = self.sc.menu_routes
            if 1 <= choice <= len(menu):
                chosen = menu[choice - 1]
                self._understood("menu_number")
                return self._do(keys.Route(chosen), f"menu_number:{chosen}")
        # Where a node asks for a number or a link, the person is answering it: only their own
        # words (a name, an example, keywords) leave for another route, never a guess by
        # similarity; anything else is asked again.
        asking = here is not None and here[1].input is not None
        classifier = None if asking else self.ctx.classifier
        reading = route_for(lex, text, self.sc, classifier.rank if classifier else None)
        self._understood(reading.kind, reading.score, reading.candidates, reading.guesses)
        if reading.kind == "greeting":
            return self._greeting(reading.detail)
        if reading.kind in ("name", "example", "keywords", "similar") and reading.target and not (
                asking and reading.target == Target(self.state.route or "")):
            # (words for the very route that asks, 「アマゾンから電話がきた」 where number_check
            # asks for the number: the person is answering; ask again, clearly)
            return self._open(reading.target, f"{reading.kind}:{reading.target.text}")
        if asking:
            return self._verdict(raw)  # no digits and no route: ask again, clearly
        if here is None and reading.kind == "ask":
            return self._ask(reading.candidates, which=reading.detail == "which")
        if here is None:
            return self._unknown(reading.kind)
        # Inside a route an unclear sentence keeps the person where they are, with the screen's
        # buttons; words of other routes add those as buttons too, where there is room.
        return self._not_understood(reading.candidates if reading.kind == "ask" else ())

    def _understood(self, kind: str, score: float = 1.0,
                    candidates: tuple[Candidate, ...] = (),
                    guesses: tuple[Candidate, ...] = ()) -> None:
        self.understood = Understood(
            kind, score, tuple(Place(c.target.route, c.target.node) for c in candidates),
            tuple(Guess(c.target.route, c.target.node, round(c.score, 4)) for c in guesses))

    def _keep_unmatched(self) -> None:
        """The typed text, redacted, for the operators' inbox (issue 18): one the bot answered
        「none of ours」, asked about, or could not read on this screen. Nothing when it holds
        a secret (or is empty once redacted)."""
        if self.typed is None:
            return
        text = redact(self.typed, self.sc.secrets, self.sc.links)
        if text is None:
            return
        guesses = self.understood.guesses if self.understood is not None else ()
        self.unmatched = Unmatched(text, self.state.route, self.state.node, guesses)

    def _screen(self) -> Screen:
        here = self._here()
        if here is None:
            return Screen()
        return Screen(here[0], self.state.node, self._shown_replies())

    def _open(self, target: Target, resolved: str) -> Outcome:
        """Typed words named a route, or a branch of one: there, with 戻る back to where the
        person was (and, for a branch, to its route's start first)."""
        if target.node is None:
            return self._do(keys.Route(target.route), resolved)
        self._enter_target(target)
        return self._done(resolved)

    def _enter_target(self, target: Target) -> None:
        route = self.sc.routes[target.route]
        node = target.node or route.start
        self._push_here()
        if node != route.start and (self.state.route, self.state.node) != (route.id, route.start):
            self.state.stack.append((route.id, route.start))
        self._enter(route.id, node, push=False)

    def _ask(self, candidates: tuple[Candidate, ...], *, which: bool = False) -> Outcome:
        """Not sure which was meant: ask, with the candidates as buttons and the menu (a bare
        「解約」: which of them; else: 「〇〇のご相談ですか？」 for the likeliest)."""
        self.steps.append(Step("ask", None, None))
        self._keep_unmatched()
        names = [self._target_name(c.target) for c in candidates]
        texts = self.system.texts
        self._say(texts.ask_which if which else texts.ask.format(first=names[0]))
        replies = [self._candidate_reply(c) for c in candidates]
        replies.append(global_reply(self.system.labels.menu, MENU))
        self._attach(replies)
        return self._done("ask:" + ",".join(c.target.text for c in candidates))

    def _candidate_reply(self, candidate: Candidate) -> QuickReply:
        target = candidate.target
        return global_reply(self._target_name(target), keys.Route(target.route)
                            if target.node is None else keys.Open(target.route, target.node))

    def _target_name(self, target: Target) -> str:
        route = self.sc.routes[target.route]
        if target.node is None:
            return self._menu_label(target.route)
        node = route.nodes[target.node]
        return (node.title or route.menu_label or route.title)[:MAX_LABEL]

    def other_message(self, kind: str) -> Outcome:
        self.steps.append(Step("other_message", self.state.route, self.state.node))
        self._say(self.system.texts.other_message)
        self._attach(self._shown_replies())
        return self._done(f"message:{kind}")

    def _secret(self, kind: SecretKind) -> Outcome:
        """A card number, password, code or My Number: warn, and stay where the person is. The
        answer never repeats it, and nothing of it reaches the state or `resolved`."""
        safety = self.system.safety
        text = safety.secrets[kind]
        self.steps.append(Step("secret", self.state.route, self.state.node))
        self._say(*(bubble.replace("{name}", text.name).replace("{given}", text.given)
                    for bubble in safety.secret_warning))
        self._attach(self._shown_replies())
        return self._done(f"secret:{kind}")

    def _safety_node(self, field: str) -> tuple[Route, Node]:
        route_id, _, node_id = str(getattr(self.system.safety, field)).partition(".")
        route = self.sc.routes[route_id]  # the loader checked that it exists
        return route, route.nodes[node_id]

    def _link_verdict(self, link: Link) -> Outcome:
        """A link anywhere: its domain's verdict, from the node that asks for links (or from the
        one the person is on, if it asks for a link itself)."""
        here = self._here()
        if here is None or here[1].input is None or here[1].input.kind != "link":
            here = self._safety_node("link_check")
        route, node = here
        assert node.input is not None
        self.link = link
        self._enter(route.id, node.input.next[link.verdict], push=True)  # type: ignore[index]
        return self._done(f"link:{link.verdict}")

    def _phone_verdict(self, number: PhoneNumber) -> Outcome:
        """A phone number written anywhere (「0120-999-373から電話が来た」): number_check's
        verdict, as if it had been typed where number_check asks for one."""
        route, node = self._safety_node("phone_check")
        assert node.input is not None and node.input.kind == "phone"
        checked = phones.judge(number, self.sc.facts, self.sc.phone_facts)
        return self._verdict_at(route, node.input.next[checked.verdict], checked, "number")

    def _verdict(self, raw: str) -> Outcome:
        """A number typed where a node asks for one: move on by the fact sheet's verdict."""
        here = self._here()
        assert here is not None
        route, node = here
        assert node.input is not None
        if node.input.kind == "link":
            # no link in it (those were answered first): say so and ask again
            self.link = Link("invalid")
            self._enter(route.id, node.input.next["invalid"], push=True)
            return self._done("link:invalid")
        checked = phones.check(raw, self.sc.facts, self.sc.phone_facts)
        return self._verdict_at(route, node.input.next[checked.verdict], checked, "verdict")

    def _verdict_at(
        self, route: Route, target: str, checked: phones.Checked, how: str
    ) -> Outcome:
        self.number = checked.number or None
        # Each verdict node remembers which fact it showed (a fact key, not what was typed), so
        # that going back to it later shows the same number's verdict again.
        if checked.fact is not None:
            self.state.vars[f"fact@{target}"] = checked.fact
        else:
            self.state.vars.pop(f"fact@{target}", None)
        self._enter(route.id, target, push=True)
        return self._done(f"{how}:{checked.verdict}")

    # --- what a button or command does ------------------------------------------------------

    def _do(self, key: keys.Key, resolved: str) -> Outcome:
        match key:
            case keys.To(node) if self.state.route is not None:
                self._enter(self.state.route, node, push=True)
            case keys.Route(route) if route in self.sc.routes:
                self._enter(route, self.sc.routes[route].start, push=True)
            case keys.Menu(page) if page < len(self.system.menu):
                self.steps.append(Step("menu", self.state.route, self.state.node))
                self._push_here()
                self.state.route = self.state.node = None
                self._show_menu(page=page)
            case keys.DoAction(action):
                self._action(action)
            case keys.Resolved(True):
                self.steps.append(Step("resolved_yes", self.state.route, self.state.node))
                self._push_here()
                self.state.route = self.state.node = None
                self._say(self.system.texts.resolved_yes)
                self._show_menu(prompt=False)
            case keys.Resolved(False):
                self.steps.append(Step("resolved_no", self.state.route, self.state.node))
                here = self._here()
                if here is not None and here[1].unresolved is not None:
                    # the end says itself what to do next (the contact route's own end)
                    self._enter(here[0].id, here[1].unresolved, push=True)
                else:
                    self._say(self.system.texts.resolved_no)
                    self._attach(self._resolved_no_replies())
            case keys.Do(hours, then) if self.state.route is not None:
                self._change_reminders(hours)
                self._enter(self.state.route, then, push=True)
            case keys.Stop(kind, given):
                self._stop(kind, given)
            case keys.Revive(keep):
                self._revive(keep)
            case keys.Open(route, node) if self._opens(route, node):
                self._enter_target(Target(route, node))
            case _:
                return self._stale("postback:unknown")
        return self._done(resolved)

    def _action(self, action: Action) -> None:
        if action == "menu":
            self.steps.append(Step("menu", self.state.route, self.state.node))
            self._push_here()
            self.state.route = self.state.node = None
            self._show_menu()
        elif action == "help":
            self.steps.append(Step("help", self.state.route, self.state.node))
            texts = list(self.system.texts.help)
            if self.ctx.unmatched_days > 0:
                kept = self.system.texts.help_unmatched.format(days=self.ctx.unmatched_days)
                texts[-1] = f"{texts[-1]}\n{kept}"
            self._say(*texts)
            self._attach(self._shown_replies())
        elif action == "restart":
            route_id = self.state.route
            if route_id is None:
                self._show_menu()
                return
            self.steps.append(Step("restart", route_id, self.state.node))
            self.state.stack = [(r, n) for r, n in self.state.stack if r != route_id]
            self._enter(route_id, self.sc.routes[route_id].start, push=False, kind="restart")
        else:
            self._back()

    def _back(self) -> None:
        while self.state.stack:
            route_id, node_id = self.state.stack.pop()
            if route_id in self.sc.routes and node_id in self.sc.routes[route_id].nodes:
                self.steps.append(Step("back", route_id, node_id))
                self._enter(route_id, node_id, push=False, kind="back")
                return
            # a node the operators removed since: skip it and keep going back
        self.steps.append(Step("back", None, None))
        self.state.route = self.state.node = None
        self._say(self.system.texts.back_at_top)
        self._show_menu(prompt=False)

    # --- reminders --------------------------------------------------------------------------

    def _skipped(self) -> tuple[ReminderInfo, ...]:
        if self.ctx.planner is None:
            return ()
        if self.ctx.skipped is None:
            raise _NeedReminders
        return self.ctx.skipped

    def _pending(self) -> list[ReminderInfo]:
        if self.ctx.planner is None:
            return []
        if self.pending is None:
            raise _NeedReminders
        return self.pending

    def _kind_name(self, kind: str) -> str:
        text = self.system.reminders.get(kind)
        return text.name if text is not None else kind

    def _day(self, day: date) -> str:
        return (self.ctx.planner.day(day, self.now) if self.ctx.planner is not None
                else day.isoformat())

    def _date_picked(self, value: str) -> Outcome:
        here = self._here()
        assert here is not None and here[1].remind is not None  # the tap was on this node
        try:
            given = date.fromisoformat(value)
        except ValueError:
            return self._bad_date("picker:bad_date")
        return self._schedule(here[1].remind, given, "picker:date")

    def _schedule(self, kind: str, given: date, resolved: str) -> Outcome:
        """The person gave a date where a node offers a reminder: plan it, or say why not."""
        planner = self.ctx.planner
        assert planner is not None
        if not planner.usable(given, self.now):
            # 9999年12月31日: no date rule can use it, and no reminder that far is wanted
            return self._bad_date(f"{resolved}:unusable")
        texts = self.system.texts
        name, day = self._kind_name(kind), planner.day(given, self.now)
        self.steps.append(Step("remind", self.state.route, self.state.node))
        if any(r.kind == kind and r.given == given for r in self._pending()):
            self._say(texts.remind_again.format(name=name, given=day))
            self._attach(self._shown_replies(with_list=True))
            return self._done(f"{resolved}:again")
        plan = planner.plan(kind, given, self.now, self.window)
        deadline = planner.day(plan.deadline, self.now)
        if plan.refused == "past":
            self._say(texts.remind_past.format(name=name, given=day, deadline=deadline))
        elif plan.refused == "too_late":
            self._say(texts.remind_too_late.format(name=name, given=day, deadline=deadline))
        else:
            self.effects.append(Schedule(kind, given, plan.deadline, plan.pushes))
            pushes = "\n".join(texts.push_line.format(at=planner.moment(at, self.now))
                               for at in plan.pushes)
            self._say(texts.remind_set.format(name=name, given=day, deadline=deadline,
                                              pushes=pushes, window=self._window_text()))
        self._attach(self._shown_replies(with_list=plan.refused is None))
        return self._done(f"{resolved}:{plan.refused or 'set'}")

    def _bad_date(self, resolved: str) -> Outcome:
        self.steps.append(Step("unmatched", self.state.route, self.state.node))
        self._say(self.system.texts.remind_bad_date)
        self._attach(self._shown_replies())
        return self._done(resolved)

    def _stop(self, kind: str, given: date) -> None:
        """「このリマインダーを止める」, from a push or from the list."""
        pending = self._pending()
        texts = self.system.texts
        self.steps.append(Step("reminder_stop", self.state.route, self.state.node))
        found = [r for r in pending if r.kind == kind and r.given == given]
        if found:
            self.effects.append(StopReminder(kind, given))
            pending[:] = [r for r in pending if not (r.kind == kind and r.given == given)]
            self._say(texts.reminder_stopped.format(
                name=self._kind_name(kind), deadline=self._day(found[0].deadline)))
        else:
            self._say(texts.reminder_gone)
        here = self._here()
        if here is not None and here[1].show == "reminders":
            listed = self.state.node
            self._settle()
            if self.state.node != listed:
                self._show_here()  # the list is empty now: its `empty` node says so
                return
            self._say(self._reminder_list())
        self._attach(self._shown_replies())

    def _change_reminders(self, change: PushHours | None) -> None:
        """None: stop them all; (start, end): the hours pushes may come in."""
        self.steps.append(Step("reminder_stop" if change is None else "window",
                               self.state.route, self.state.node))
        if change is None:
            self.effects.append(StopAll())
            self.pending = []
            return
        self.effects.append(SetWindow(change.start, change.end))
        self.window = change

    def _revive(self, keep: bool) -> None:
        self.steps.append(Step("revive", None, None))
        self.effects.append(Revive(keep))
        texts = self.system.texts
        self._say(texts.revive_yes if keep else texts.revive_no)
        self._show_menu(prompt=False)

    def _window_text(self) -> str:
        return self.system.texts.window_hours.format(start=self.window.start,
                                                      end=self.window.end)

    def _reminder_list(self) -> str:
        texts = self.system.texts
        pending = self._pending()
        if not pending:
            return texts.reminders_none
        planner = self.ctx.planner
        assert planner is not None
        lines = [
            texts.reminders_item.format(n=i, name=self._kind_name(r.kind),
                                        deadline=planner.day(r.deadline, self.now))
            + "\n" + texts.reminders_next.format(next=planner.moment(r.next_push, self.now))
            for i, r in enumerate(pending, start=1)
        ]
        if len(pending) > self._stop_room():
            lines.append(texts.reminders_more.format(count=self._stop_room()))
        return "\n".join(lines)

    def _stop_room(self) -> int:
        here = self._here()
        buttons = len(here[1].buttons) + (2 if here[1].asks else 0) if here is not None else 0
        return max(0, MAX_QUICK_REPLIES - NAV_BUTTONS - buttons)

    def _stop_replies(self) -> list[QuickReply]:
        return [
            global_reply(self._stop_label(i, self._kind_name(r.kind)), keys.Stop(r.kind, r.given))
            for i, r in enumerate(self._pending()[: self._stop_room()], start=1)
        ]

    def _stop_label(self, n: int, name: str) -> str:
        """「1. 無料体験の終わりを止める」: the button names the reminder it stops; a name too
        long for LINE's label is shortened, never the number or 「を止める」."""
        label = self.system.labels.stop_numbered
        room = MAX_LABEL - len(label.format(n=n, name=""))
        if len(name) > room:
            name = name[: max(0, room - 1)] + "…"
        return label.format(n=n, name=name)

    def _date_picker(self, route: Route, node: Node) -> QuickReply | None:
        if node.remind is None or self.ctx.planner is None:
            return None
        initial, earliest, latest = self.ctx.planner.bounds(node.remind, self.now)
        data = postback.encode(postback.Tap(keys.Remind(node.remind), route.id, self.state.node))
        return QuickReply(label=self.system.labels.pick_date, kind="date", data=data,
                          initial=initial.isoformat(), min=earliest.isoformat(),
                          max=latest.isoformat())

    # --- moving -----------------------------------------------------------------------------

    def _enter(self, route_id: str, node_id: str, *, push: bool, kind: str = "enter") -> None:
        if push:
            self._push_here()
        self.state.route, self.state.node = route_id, node_id
        self._settle()
        if kind == "enter":
            self.steps.append(Step("enter", route_id, self.state.node))
        self._show_here()

    def _settle(self) -> None:
        """A list of reminders with nothing to list shows its `empty` node instead: no "here
        are your reminders", no 「すべて止める」."""
        here = self._here()
        if (here is not None and here[1].show == "reminders" and here[1].empty is not None
                and not self._pending()):
            self.state.node = here[1].empty

    def _push_here(self) -> None:
        if self.state.route is not None and self.state.node is not None:
            self.state.stack.append((self.state.route, self.state.node))
            del self.state.stack[: -self.state.MAX_STACK]

    # --- rendering --------------------------------------------------------------------------

    def _here(self) -> tuple[Route, Node] | None:
        route = self.sc.routes.get(self.state.route or "")
        node = route.nodes.get(self.state.node or "") if route is not None else None
        if route is None or node is None:
            return None
        return route, node

    def _show_here(self) -> None:
        here = self._here()
        if here is None:
            # at the menu, or on a node that no longer exists after an edit
            self.state.route = self.state.node = None
            self._show_menu(prompt=True)
            return
        self._settle()
        route, node = self._here() or here
        self._say(*(self._fill(text) for text in node.say))
        if node.show == "reminders":
            self._say(self._reminder_list())
        if node.asks:
            self._say(self.system.texts.resolved_question)
        self._attach(self._node_replies(route, node))

    def _fill(self, text: str) -> str:
        """Fill a verdict node's blanks: the number typed, and whose the guides say it is."""
        if "{" not in text:
            return text
        text = text.replace("{window}", self._window_text())
        fact = self.sc.facts.get(self.state.vars.get(f"fact@{self.state.node}", ""))
        number = self.number or (fact.value if fact else self.system.texts.number_fallback)
        text = text.replace("{number}", number).replace("{use}", fact.use if fact else "")
        safety = self.system.safety
        link = self.link if self.link is not None and self.link.host else None
        return (text.replace("{link}", link.host if link else safety.link_fallback)
                .replace("{domain}", link.domain if link else safety.domain_fallback))

    def _show_menu(self, *, prompt: bool = True, page: int = 0) -> None:
        if prompt or not self.messages:
            self._say(self._menu_text(page))
        self._attach(self._menu_replies(page))

    def _menu_text(self, page: int) -> str:
        numbers = {r: i for i, r in enumerate(self.sc.menu_routes, start=1)}
        lines = [self.system.texts.menu_prompt, ""]
        for route_id in self.system.menu[page].routes:
            lines.append(f"{numbers[route_id]}. {self._menu_label(route_id)}")
        for i, other in enumerate(self.system.menu):
            if i != page:
                lines.append("")
                lines.append(self.system.texts.menu_other.format(label=other.label))
        return "\n".join(lines)

    def _menu_label(self, route_id: str) -> str:
        route = self.sc.routes[route_id]
        return route.menu_label or route.title

    def _say(self, *texts: str) -> None:
        self.messages.extend(OutText(t) for t in texts)

    def _attach(self, replies: list[QuickReply]) -> None:
        last = self.messages[-1]
        self.messages[-1] = OutText(last.text, tuple(replies))

    # --- quick replies ------------------------------------------------------------------------

    def _menu_replies(self, page: int = 0) -> list[QuickReply]:
        replies = [
            global_reply(self._menu_label(r), keys.Route(r)) for r in self.system.menu[page].routes
        ]
        replies.extend(
            global_reply(other.label, keys.Menu(i))
            for i, other in enumerate(self.system.menu) if i != page
        )
        replies.append(global_reply(self.system.labels.help, keys.DoAction("help")))
        return replies

    def _node_replies(self, route: Route, node: Node) -> list[QuickReply]:
        replies: list[QuickReply] = []
        picker = self._date_picker(route, node)
        if picker is not None:
            replies.append(picker)
        if node.show == "reminders":
            replies.extend(self._stop_replies())
        if node.asks:
            replies.append(self._local(route, self.system.labels.resolved_yes,
                                       keys.Resolved(True)))
            replies.append(self._local(route, self.system.labels.resolved_no,
                                       keys.Resolved(False)))
        replies.extend(self._button(route, b) for b in node.buttons)
        if self.state.stack:
            replies.append(self._local(route, self.system.labels.back, BACK))
        replies.append(global_reply(self.system.labels.menu, MENU))
        return replies

    def _resolved_no_replies(self) -> list[QuickReply]:
        replies = []
        contact = self.system.contact_route
        if self.state.route != contact:
            replies.append(global_reply(self.system.labels.contact, keys.Route(contact)))
        here = self._here()
        if here is not None:
            route, node = here
            room = MAX_QUICK_REPLIES - len(replies) - 2  # keep back and menu
            replies.extend(self._button(route, b) for b in node.buttons[:room])
            replies.append(self._local(route, self.system.labels.back, BACK))
        replies.append(global_reply(self.system.labels.menu, MENU))
        return replies

    def _button(self, route: Route, button: Button) -> QuickReply:
        if button.key is None:
            return QuickReply(label=button.label, kind="uri", uri=button.uri or "")
        return self._local(route, button.label, button.key)

    def _local(self, route: Route, label: str, key: keys.Key) -> QuickReply:
        data = postback.encode(postback.Tap(key, route.id, self.state.node))
        return QuickReply(label=label, kind="postback", data=data)

    def _shown_replies(self, *, with_list: bool = False) -> list[QuickReply]:
        """The buttons of where the person is; `with_list` puts お知らせの一覧 first."""
        here = self._here()
        replies = self._menu_replies() if here is None else self._node_replies(*here)
        if with_list and "reminders" in self.sc.routes and len(replies) < MAX_QUICK_REPLIES:
            replies.insert(0, global_reply(self.system.labels.reminders, keys.Route("reminders")))
        return replies

    def _button_is_shown(self, key: keys.Key) -> bool:
        here = self._here()
        if here is None:
            return False
        _, node = here
        shown: set[keys.Key] = {b.key for b in node.buttons if b.key is not None} | {BACK}
        if node.remind is not None:
            shown.add(keys.Remind(node.remind))
        if node.asks:
            shown |= {keys.Resolved(True), keys.Resolved(False)}
        return key in shown

    # --- endings ----------------------------------------------------------------------------

    def _stale(self, resolved: str) -> Outcome:
        self.steps.append(Step("stale", self.state.route, self.state.node))
        here = self._here()
        where = here[0].title if here is not None else self.system.labels.menu
        self._say(self.system.texts.stale.format(where=where))
        self._show_here()
        return self._done(resolved)

    def _greeting(self, reply: str) -> Outcome:
        """「こんにちは」, 「ありがとう」: a kind word back, and the person stays where they are."""
        self.steps.append(Step("greeting", self.state.route, self.state.node))
        self._say(reply)
        self._attach(self._shown_replies())
        return self._done("text:greeting")

    def _unknown(self, how: str) -> Outcome:
        """Text that is none of ours, at the menu: say what the bot can help with, and show it."""
        self.steps.append(Step("unmatched", None, None))
        if how == "unknown":
            self._keep_unmatched()
        self._say(self.system.understanding.unknown)
        self._show_menu()
        return self._done(f"text:{how}")

    def _not_understood(self, candidates: tuple[Candidate, ...] = ()) -> Outcome:
        self.steps.append(Step("unmatched", self.state.route, self.state.node))
        self._keep_unmatched()
        self._say(self.system.texts.not_understood)
        replies = list(self._shown_replies())
        for c in candidates:
            if len(replies) >= MAX_QUICK_REPLIES:
                break
            if c.target.route != self.state.route:
                replies.append(self._candidate_reply(c))
        self._attach(replies)
        return self._done("text:unmatched")

    def _done(self, resolved: str) -> Outcome:
        assert 1 <= len(self.messages) <= MAX_MESSAGES, self.messages
        return Outcome(state=self.state, messages=self.messages, steps=self.steps,
                       resolved=resolved, effects=self.effects, understood=self.understood,
                       unmatched=self.unmatched)
