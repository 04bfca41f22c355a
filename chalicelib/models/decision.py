"""What socialcrm decided about an interaction: its intent and its route."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Intent(StrEnum):
    COMPLAINT = "complaint"
    QUESTION = "question"
    PURCHASE_INTENT = "purchase_intent"
    CANCEL_INTENT = "cancel_intent"
    PRAISE = "praise"
    SPAM = "spam"
    OTHER = "other"


@dataclass(frozen=True)
class IntentResult:
    """An intent with how sure the classifier is, and the evidence a person can check."""

    label: Intent
    confidence: float
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label.value, "confidence": self.confidence, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentResult:
        return cls(Intent(data["label"]), float(data["confidence"]), tuple(data.get("reasons", ())))


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class RouteAction(StrEnum):
    OPEN_CASE = "open_case"
    ALERT = "alert"


@dataclass(frozen=True)
class Route:
    """Where an interaction goes: the team, how urgent, which rule said so, and what to do."""

    team: str
    priority: Priority
    rule: str
    actions: tuple[RouteAction, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "priority": self.priority.value,
            "rule": self.rule,
            "actions": [action.value for action in self.actions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        return cls(
            team=data["team"],
            priority=Priority(data["priority"]),
            rule=data["rule"],
            actions=tuple(RouteAction(action) for action in data.get("actions", ())),
        )
