"""Where one person is, and the inputs that move them."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class State(BaseModel):
    """Where one person is. `route is None` means at the menu."""

    route: str | None = None
    node: str | None = None
    stack: list[tuple[str, str]] = Field(default_factory=list)
    vars: dict[str, str] = Field(default_factory=dict)

    MAX_STACK: int = Field(default=30, exclude=True, repr=False)

    def copy_for_turn(self) -> State:
        """A copy a turn may change: the stack's entries are tuples and the vars strings, so
        new containers are enough (a deep copy was the engine's largest cost per event)."""
        return self.model_copy(update={"stack": list(self.stack), "vars": dict(self.vars)})


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
