"""`Scenarios`: everything the engine knows, validated by the loader, with what it built once
from it (the link judge with its suffix list, the secret guard with its words)."""

from __future__ import annotations

from dataclasses import dataclass, field

from supportnavi.engine.content import Fact, Route, SystemFile
from supportnavi.engine.links import LinkJudge
from supportnavi.engine.sensitive import SecretGuard


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
