"""Who may do what in the ops API (and, later, the console): three roles, each including the one
below it. `agent`: read, answer, change a case's status, acknowledge alerts. `supervisor`: also
routing inputs (segments) and the audit trail. `admin`: also a customer's export and erasure, and
replaying kept deliveries. Every agent sees every team's cases: nothing is scoped by team yet."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    AGENT = 1
    SUPERVISOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role | None:
        return cls.__members__.get(name.strip().upper()) if name else None


@dataclass(frozen=True)
class Principal:
    """Someone signed in: `cognito:<username>`, or `ops-token` for the shared automation token."""

    id: str
    role: Role
