from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class LintError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ScenarioError(Exception):
    """The scenario files are broken; the bot must not start on them."""

    def __init__(self, errors: list[LintError]) -> None:
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
