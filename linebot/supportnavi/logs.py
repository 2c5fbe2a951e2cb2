"""Logs: one JSON object a line, with nothing secret or personal in it.

Every line, ours and uvicorn's and SQLAlchemy's alike, passes one formatter that, after the
line is made (message, arguments and traceback included), replaces

- a LINE user, group or room id (`U` + 32 hex digits) by `user:` + the first 12 hex digits of
  its SHA-256, so that one person's lines can be followed without naming them;
- the channel secret, the access token and the admin token, wherever they appear, and any
  `Bearer …` credential, by `[redacted]`.

What people type is never logged in the first place (the engine's errors drop their message:
`conversation.service.EngineFailed`); the redaction is the net under that rule, not the rule.
`SUPPORTNAVI_LOG_FORMAT=text` gives plain lines for a person at a terminal, redacted the same.
"""

from __future__ import annotations

import hashlib
import logging
import logging.config
import re
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from supportnavi.settings import Settings

LINE_ID = re.compile(r"(?<![0-9A-Za-z])[UCR][0-9a-f]{32}(?![0-9A-Za-z])")
BEARER = re.compile(r"(Bearer\s+)[^\s\"',]+", re.IGNORECASE)
REDACTED = "[redacted]"


def pseudonym(line_id: str) -> str:
    return "user:" + hashlib.sha256(line_id.encode()).hexdigest()[:12]


def redact(line: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        line = line.replace(secret, REDACTED)
    line = BEARER.sub(lambda m: m.group(1) + REDACTED, line)
    return LINE_ID.sub(lambda m: pseudonym(m.group(0)), line)


def _secrets(settings: Settings) -> tuple[str, ...]:
    # longest first, so that a secret containing another is replaced whole
    found = {settings.line_channel_secret, settings.line_channel_access_token,
             settings.admin_token}
    return tuple(sorted((s for s in found if s and len(s) >= 6), key=len, reverse=True))


class RedactingJsonFormatter(JsonFormatter):
    def __init__(self, *args: Any, secrets: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class RedactingTextFormatter(logging.Formatter):
    def __init__(self, *args: Any, secrets: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def formatter(kind: str = "json") -> logging.Formatter:
    """The formatter, as `logging.config` builds it (in every uvicorn worker too)."""
    secrets = _secrets(Settings())
    if kind == "text":
        return RedactingTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                      secrets=secrets)
    return RedactingJsonFormatter(
        "{levelname}{name}{process}{message}", style="{", timestamp="time",
        # the process tells apart the workers of `serve --workers N`
        rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's coloured copy
        json_ensure_ascii=False, secrets=secrets,
    )


def config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for every logger; `serve` hands it to uvicorn, which
    applies it in each worker process."""
    kind = "text" if settings.log_format == "text" else "json"
    level = settings.log_level.upper()
    handler = {"class": "logging.StreamHandler", "formatter": "redacted",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"redacted": {"()": "supportnavi.logs.formatter", "kind": kind}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own loggers come with handlers of their own: route them to ours
            **{name: {"handlers": [], "propagate": True, "level": level}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
            # a line per request the bot makes (the simulator posting to /callback, LINE
            # calls): noise at INFO; their failures still show
            "httpx": {"level": "WARNING"},
            # at DEBUG a line per database operation, with its values (reply tokens, message
            # texts): never wanted in a log, whatever the level
            "aiosqlite": {"level": "INFO"},
        },
    }


def configure(settings: Settings) -> None:
    logging.config.dictConfig(config(settings))
