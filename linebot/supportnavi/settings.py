from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where scenarios/, db/ and alembic.ini live: the checkout, or SUPPORTNAVI_ROOT in an image
# where the package is installed into site-packages.
REPO_ROOT = Path(os.environ.get("SUPPORTNAVI_ROOT") or Path(__file__).resolve().parents[2])

# Simulator mode signs its own webhooks with this key. It guards nothing real: in simulator
# mode the bot talks only to the in-process fake LINE API.
SIMULATOR_CHANNEL_SECRET = "supportnavi-simulator-secret"
SIMULATOR_ACCESS_TOKEN = "supportnavi-simulator-token"
FAKE_LINE_PREFIX = "/_fake_line"
# The dashboard's token is guessed online, against the login throttle (web/admin.py): 16
# characters of secrets.token_urlsafe are 96 bits, beyond any number of guesses.
ADMIN_TOKEN_MIN = 16

ASK_FOR_THE_SIMULATOR = ("start the simulator instead with `supportnavi serve --simulator` "
                         "(or SUPPORTNAVI_SIMULATOR=true), as `make run` does")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: what only this machine reaches. Any other name could
    resolve anywhere, and "" or 0.0.0.0 is every interface."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every knob, read once from the environment (and `.env`)."""

    # hide_input_in_errors: a refused value is often a secret, and the error is printed
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True)

    line_channel_secret: str | None = Field(default=None, alias="LINE_CHANNEL_SECRET")
    line_channel_access_token: str | None = Field(default=None, alias="LINE_CHANNEL_ACCESS_TOKEN")
    line_api_base_url: str = Field(default="https://api.line.me", alias="LINE_API_BASE_URL")
    # The simulator (the fake LINE API in-process, the /simulator page) only when asked for:
    # no credentials used to mean it, and a server started on a copy of a real database sent
    # that channel's pending replies and due reminders to the fake and marked them sent.
    simulator: bool = Field(default=False, alias="SUPPORTNAVI_SIMULATOR")
    # The simulator has no login: it binds beyond loopback only when this says so.
    simulator_public: bool = Field(default=False, alias="SUPPORTNAVI_SIMULATOR_PUBLIC")
    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/supportnavi.db", alias="DATABASE_URL"
    )
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, alias="PORT")
    admin_token: str | None = Field(default=None, alias="SUPPORTNAVI_ADMIN_TOKEN")
    tz: str = Field(default="Asia/Tokyo", alias="SUPPORTNAVI_TZ")
    scenarios_dir: Path = Field(default=REPO_ROOT / "scenarios", alias="SUPPORTNAVI_SCENARIOS")
    # Seconds between two looks at the scenario files in every server process (a stat each;
    # their content hashed only when one changed); a change is loaded, checked and swapped in
    # without a restart (edition.py). 0: only `supportnavi reload` or SIGHUP loads a change.
    scenarios_poll_seconds: float = Field(default=2.0, ge=0, alias="SUPPORTNAVI_SCENARIOS_POLL")
    # Where `serve` writes its process id, which `supportnavi reload` signals (SIGHUP). Unset:
    # var/serve-<PORT>.pid under the working directory.
    pidfile: Path | None = Field(default=None, alias="SUPPORTNAVI_PIDFILE")
    max_body_bytes: int = Field(default=1_000_000, alias="SUPPORTNAVI_MAX_BODY_BYTES")
    line_timeout_seconds: float = Field(default=5.0, alias="SUPPORTNAVI_LINE_TIMEOUT")
    log_level: str = Field(default="INFO", alias="SUPPORTNAVI_LOG_LEVEL")
    # JSON lines for machines (the default); `text` for a person reading a terminal
    log_format: Literal["json", "text"] = Field(default="json", alias="SUPPORTNAVI_LOG_FORMAT")
    # at most this many webhook events (and delivery outcomes) share one transaction
    event_batch_max: int = Field(default=64, ge=1, alias="SUPPORTNAVI_EVENT_BATCH")
    # The reminder dispatcher: inside `serve` unless turned off (`serve --no-dispatcher`).
    dispatcher: bool = Field(default=True, alias="SUPPORTNAVI_DISPATCHER")
    dispatch_interval_seconds: float = Field(default=30.0, gt=0,
                                             alias="SUPPORTNAVI_DISPATCH_INTERVAL")
    # LINE's published per-channel limits; `serve --workers N` gives each worker 1/N of them.
    push_rate: float = Field(default=2000.0, gt=0, alias="SUPPORTNAVI_PUSH_RATE")
    multicast_rate: float = Field(default=200.0, gt=0, alias="SUPPORTNAVI_MULTICAST_RATE")
    dispatch_concurrency: int = Field(default=64, ge=1, alias="SUPPORTNAVI_DISPATCH_CONCURRENCY")
    # how long a 429 "monthly limit" stops the sending, and a rate 429 halves the rate
    quota_pause_seconds: float = Field(default=3600.0, ge=0, alias="SUPPORTNAVI_QUOTA_PAUSE")
    rate_slowdown_seconds: float = Field(default=60.0, ge=0, alias="SUPPORTNAVI_RATE_SLOWDOWN")
    workers: int = Field(default=1, ge=1, alias="SUPPORTNAVI_WORKERS")  # set by `serve`
    # The outbox relay (conversation/relay.py): in every `serve` process unless turned off, it
    # sends the replies that a crash or LINE's trouble left pending. Rows younger than the
    # grace are left to the webhook's own try.
    relay: bool = Field(default=True, alias="SUPPORTNAVI_RELAY")
    relay_interval_seconds: float = Field(default=5.0, gt=0, alias="SUPPORTNAVI_RELAY_INTERVAL")
    relay_grace_seconds: float = Field(default=15.0, ge=0, alias="SUPPORTNAVI_RELAY_GRACE")
    # The proxies whose X-Forwarded-For and X-Forwarded-Proto uvicorn believes (its
    # forwarded_allow_ips, which `serve` passes on; uvicorn's own default): a TLS proxy on
    # another machine must be listed, or the dashboard's cookie loses Secure and the login
    # throttle sees every client as the proxy. Comma-separated IPs or networks, or "*".
    forwarded_allow_ips: str = Field(default="127.0.0.1,::1",
                                     alias="SUPPORTNAVI_FORWARDED_ALLOW_IPS")
    # how long a SQLite writer waits for another process's write lock before the event fails
    # (500, and LINE redelivers)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0,
                                        alias="SUPPORTNAVI_SQLITE_BUSY_TIMEOUT")
    # What is kept, for how long (store/retention.py): handled event ids and finished replies;
    # the step history and finished reminders. Every `serve` process prunes, every hour.
    event_ids_days: int = Field(default=7, ge=1, alias="SUPPORTNAVI_EVENT_IDS_DAYS")
    step_history_days: int = Field(default=90, ge=1, alias="SUPPORTNAVI_STEP_HISTORY_DAYS")
    # The operators' inbox of texts the bot could not place (issue 18): kept this many days
    # after they were last typed; 0: nothing is kept (and what was, is deleted)
    unmatched_days: int = Field(default=30, ge=0, alias="SUPPORTNAVI_UNMATCHED_DAYS")
    housekeeping: bool = Field(default=True, alias="SUPPORTNAVI_HOUSEKEEPING")
    housekeeping_interval_seconds: float = Field(default=3600.0, gt=0,
                                                 alias="SUPPORTNAVI_HOUSEKEEPING_INTERVAL")

    @field_validator("line_channel_secret", "line_channel_access_token", "admin_token")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < ADMIN_TOKEN_MIN:
            raise ValueError(
                f"SUPPORTNAVI_ADMIN_TOKEN must be at least {ADMIN_TOKEN_MIN} characters: make "
                "one with python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises on an unknown zone: fail at start-up, not at 3 a.m.
        return value

    def half_configured(self) -> str | None:
        """What is wrong when exactly one of the two LINE credentials is set: a server would
        answer webhooks for the real channel and reply to nobody."""
        if bool(self.line_channel_secret) == bool(self.line_channel_access_token):
            return None
        missing = ("LINE_CHANNEL_ACCESS_TOKEN" if self.line_channel_secret
                   else "LINE_CHANNEL_SECRET")
        return (f"{missing} is not set: set both LINE credentials for a real channel, or "
                "neither and SUPPORTNAVI_SIMULATOR=true for the simulator")

    def start_problem(self) -> str | None:
        """Why a server (or a dispatcher) must not start with these settings, or None. A real
        channel needs both credentials; the simulator must be asked for, without them (which
        would be meant, with both?), and on loopback unless told otherwise."""
        if (half := self.half_configured()) is not None:
            return half
        credentials = bool(self.line_channel_secret and self.line_channel_access_token)
        if credentials and self.simulator:
            return ("simulator mode and LINE credentials are both set (SUPPORTNAVI_SIMULATOR "
                    "or --simulator, and LINE_CHANNEL_SECRET with LINE_CHANNEL_ACCESS_TOKEN): "
                    "unset the credentials for the simulator, or drop simulator mode for the "
                    "real channel")
        if not credentials and not self.simulator:
            return ("LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not set: set both "
                    f"for a real LINE channel, or {ASK_FOR_THE_SIMULATOR}")
        if self.simulator and not self.simulator_public and not is_loopback(self.host):
            return (f"simulator mode on HOST={self.host}, which is not a loopback address: "
                    "the simulator's pages and its fake LINE API have no login, so it listens "
                    "on 127.0.0.1, ::1 or localhost only. Set SUPPORTNAVI_SIMULATOR_PUBLIC=true "
                    "to bind it there anyway")
        return None

    @property
    def simulator_mode(self) -> bool:
        return self.simulator

    @property
    def channel_secret(self) -> str:
        return self.line_channel_secret or SIMULATOR_CHANNEL_SECRET

    @property
    def access_token(self) -> str:
        return self.line_channel_access_token or SIMULATOR_ACCESS_TOKEN

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def pidfile_path(self) -> Path:
        return self.pidfile or Path("var") / f"serve-{self.port}.pid"

    def local_base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address in a URL (::1 is the simulator's too)
        return f"http://{host}:{self.port}"

    def effective_line_api_base_url(self) -> str:
        """In simulator mode every LINE call goes to the fake API mounted in this app."""
        if self.simulator_mode and "LINE_API_BASE_URL" not in self.model_fields_set_aliases():
            return self.local_base_url() + FAKE_LINE_PREFIX
        return self.line_api_base_url.rstrip("/")

    def model_fields_set_aliases(self) -> set[str]:
        return {
            (type(self).model_fields[name].alias or name) for name in self.model_fields_set
        }
