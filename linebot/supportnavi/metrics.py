"""The Prometheus metrics every part of the bot counts into; `GET /metrics` exposes them.

A leaf module: the webhook, the LINE adapter and the reminder dispatcher import it, and it
imports nothing of ours. With `serve --workers N` each worker is its own process with its own
counters; `serve` then points `PROMETHEUS_MULTIPROC_DIR` at a fresh directory before the
workers start, prometheus_client writes every value there, and a scrape of any worker adds
them all up (`registry()`).

Labels never hold a person's id or words, and each has a fixed set of values: an event's
LINE type (or "other"), an HTTP status class, a reminder's outcome.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

WEBHOOK_REQUESTS = Counter(
    "supportnavi_webhook_requests_total", "POST /callback answers, by HTTP status", ["status"]
)
WEBHOOK_SECONDS = Histogram(
    "supportnavi_webhook_seconds", "time to answer POST /callback",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0),
)
# LINE's webhook event types (webhook.yml's Event discriminator), each its own label value;
# any other type a body names counts as "other": the body chooses the type, and a label value
# per made-up type would grow every worker's memory and every scrape without end.
EVENT_TYPES = frozenset({
    "message", "unsend", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft",
    "postback", "videoPlayComplete", "beacon", "accountLink", "membership", "module",
    "activated", "deactivated", "botSuspended", "botResumed", "delivery",
})
EVENTS = Counter(
    "supportnavi_events_total", "webhook events, by LINE event type and outcome "
    "(handled, duplicate, ignored, failed)", ["type", "outcome"],
)
EVENT_SECONDS = Histogram(
    "supportnavi_event_seconds", "time to handle one webhook event: lock, advance, commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
# Every request to LINE's Messaging API, by operation (reply, push, multicast) and result:
# ok, accepted_before (409: the retry key went through earlier), the HTTP status class of a
# refusal (4xx, 5xx, 429), or no_answer (a timeout or a broken connection).
LINE_REQUESTS = Counter(
    "supportnavi_line_requests_total", "requests to the Messaging API, by operation and result",
    ["op", "result"],
)
# What became of the reminder rows the dispatcher handled: sent, retried, failed, deferred
# (outside the person's hours), skipped (the person blocked the bot), released (paused).
REMINDERS = Counter(
    "supportnavi_reminders_handled_total", "reminder rows handled by the dispatcher, by outcome",
    ["outcome"],
)

# Passes of the reminder dispatcher, by result (ok, failed): a pass that keeps failing stops
# everyone's reminders, so it is something to alert on (/healthz says so too).
DISPATCH_PASSES = Counter(
    "supportnavi_dispatch_passes_total", "reminder dispatcher passes, by result", ["result"],
)
# Events that could never be handled (poison: they would fail on every redelivery): answered
# 200 all the same, counted here and as an incident.
POISON_EVENTS = Counter(
    "supportnavi_poison_events_total", "webhook events set aside as impossible to handle",
)


def event_type(name: str) -> str:
    """An event's type as a label value: LINE's own, or "other"."""
    return name if name in EVENT_TYPES else "other"


def line_result(status: int | None, ok: bool) -> str:
    """A LINE answer as a label value: few values, none of them personal."""
    if status is None:
        return "ok" if ok else "no_answer"
    if status == 409:
        return "accepted_before"
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def registry() -> CollectorRegistry:
    """What a scrape reads: this process's metrics, or every worker's when they share a
    multiprocess directory."""
    if os.environ.get(MULTIPROC_ENV):
        collected = CollectorRegistry()
        MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return collected
    return REGISTRY
