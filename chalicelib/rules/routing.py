"""Routing rules as data: which team handles an interaction, how urgently, and what to do.

The document (chalicelib/rules/routing.default.json, or a stage's override in SSM Parameter
Store) is validated as a whole before it is used: a mistake is reported with the rule's position
and name and the field at fault, so an operator can fix the override before the processor runs
with half a rulebook. Rules are tried in order; the first whose conditions all hold wins, so the
document reads top to bottom from the most specific case to the catch-all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from chalicelib.models.decision import Intent, Priority, Route, RouteAction
from chalicelib.nlp.text import fold

DEFAULT_PATH = Path(__file__).with_name("routing.default.json")
SENTIMENTS = frozenset({"POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"})
_CONDITIONS = {
    "platform",
    "kind",
    "intent",
    "min_confidence",
    "sentiment",
    "min_sentiment_confidence",
    "language",
    "segment",
    "min_churn_risk",
    "keywords",
    "entity_types",
    "entities",
}
_TOP_LEVEL = {"version", "description", "sla_minutes", "competitors", "churn", "crisis", "leads", "rules"}
_E = TypeVar("_E", bound=StrEnum)
_TEAM = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class RoutingError(ValueError):
    """The routing document is not valid; the message names the rule and the field."""


@dataclass(frozen=True)
class ChurnSettings:
    alert_at: float = 0.7  # a Retention Alert when the risk reaches this
    rearm_below: float = 0.5  # and not again until it has fallen below this


@dataclass(frozen=True)
class CrisisSettings:
    bucket_minutes: int = 15
    baseline_hours: int = 24
    z_threshold: float = 3.0  # an episode starts at this many standard deviations above normal
    min_count: int = 10  # ... and at least this many negative interactions in the bucket
    calm_z: float = 1.0  # it ends once a bucket is back under this


@dataclass(frozen=True)
class LeadSettings:
    min_score: float = 0.5


@dataclass(frozen=True)
class Conditions:
    """All given conditions must hold; a list matches when any of its values does."""

    platform: frozenset[str] = frozenset()
    kind: frozenset[str] = frozenset()
    intent: frozenset[Intent] = frozenset()
    min_confidence: float = 0.0
    sentiment: frozenset[str] = frozenset()
    # How sure the analysis must be of its sentiment label (its score for the label it gave): the
    # offline engine's scores are calibrated, so 0.8 means right about eight times in ten.
    min_sentiment_confidence: float = 0.0
    language: frozenset[str] = frozenset()
    segment: frozenset[str] = frozenset()
    min_churn_risk: float | None = None
    keywords: tuple[re.Pattern[str], ...] = ()
    entity_types: frozenset[str] = frozenset()
    entities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    name: str
    when: Conditions
    team: str
    priority: Priority
    actions: tuple[RouteAction, ...]


@dataclass(frozen=True)
class RoutingFacts:
    """What the rules may look at, about one interaction and its customer."""

    platform: str
    kind: str
    intent: Intent
    confidence: float
    text: str = ""
    sentiment: str | None = None
    sentiment_confidence: float = 0.0
    language: str | None = None
    segments: frozenset[str] = frozenset()
    churn_risk: float = 0.0
    entity_types: frozenset[str] = frozenset()
    entity_texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingDocument:
    version: str
    rules: tuple[Rule, ...]
    sla_minutes: Mapping[Priority, int]
    competitors: tuple[str, ...] = ()
    churn: ChurnSettings = field(default_factory=ChurnSettings)
    crisis: CrisisSettings = field(default_factory=CrisisSettings)
    leads: LeadSettings = field(default_factory=LeadSettings)

    @property
    def teams(self) -> tuple[str, ...]:
        """The teams the rules route to, sorted: what a case may be assigned to."""
        return tuple(sorted({rule.team for rule in self.rules}))

    def route(self, facts: RoutingFacts) -> Route:
        folded = fold(facts.text)
        entities = [fold(text) for text in facts.entity_texts]
        for rule in self.rules:
            if _holds(rule.when, facts, folded, entities):
                return Route(rule.team, rule.priority, rule.name, rule.actions)
        raise AssertionError("validated documents end with a catch-all rule")  # pragma: no cover


def _holds(when: Conditions, facts: RoutingFacts, folded: str, entities: list[str]) -> bool:
    checks = (
        not when.platform or facts.platform in when.platform,
        not when.kind or facts.kind in when.kind,
        not when.intent or facts.intent in when.intent,
        facts.confidence >= when.min_confidence,
        not when.sentiment or facts.sentiment in when.sentiment,
        facts.sentiment_confidence >= when.min_sentiment_confidence,
        not when.language or facts.language in when.language,
        not when.segment or bool(when.segment & facts.segments),
        when.min_churn_risk is None or facts.churn_risk >= when.min_churn_risk,
        not when.keywords or any(pattern.search(folded) for pattern in when.keywords),
        not when.entity_types or bool(when.entity_types & facts.entity_types),
        not when.entities or any(wanted in text for wanted in when.entities for text in entities),
    )
    return all(checks)


def load_default() -> RoutingDocument:
    return parse(DEFAULT_PATH.read_text(encoding="utf-8"), source=DEFAULT_PATH.name)


def parse(raw: str | Mapping[str, Any], source: str = "routing document") -> RoutingDocument:
    """Validate and build a routing document, or raise RoutingError saying what is wrong where."""
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise RoutingError(f"{source}: not valid JSON ({exc})") from None
    else:
        data = raw
    if not isinstance(data, Mapping):
        raise RoutingError(f"{source}: expected a JSON object")
    _no_unknown(data, _TOP_LEVEL, source)
    version = data.get("version")
    if not isinstance(version, (str, int)) or isinstance(version, bool) or str(version) == "":
        raise RoutingError(f"{source}: version: required, a string or a whole number")
    sla = _sla(data.get("sla_minutes"), source)
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        raise RoutingError(f"{source}: rules: required, a non-empty list")
    parsed = tuple(_rule(rule, index, source) for index, rule in enumerate(rules))
    names = [rule.name for rule in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise RoutingError(f"{source}: rules[{index}] {name!r}: name: used by an earlier rule")
    last = parsed[-1]
    if last.when != Conditions():
        raise RoutingError(
            f"{source}: rules[{len(parsed) - 1}] {last.name!r}: when: the last rule must have no conditions, "
            "so that every interaction has a route"
        )
    return RoutingDocument(
        version=str(version),
        rules=parsed,
        sla_minutes=sla,
        competitors=tuple(fold(name) for name in _strings(data, "competitors", source)),
        churn=_churn(data.get("churn"), source),
        crisis=_crisis(data.get("crisis"), source),
        leads=_leads(data.get("leads"), source),
    )


def _rule(raw: Any, index: int, source: str) -> Rule:
    where = f"{source}: rules[{index}]"
    if not isinstance(raw, Mapping):
        raise RoutingError(f"{where}: expected an object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RoutingError(f"{where}: name: required, a non-empty string")
    where = f"{where} {name!r}"
    _no_unknown(raw, {"name", "when", "team", "priority", "actions", "description"}, where)
    team = raw.get("team")
    if not isinstance(team, str) or not _TEAM.fullmatch(team):
        raise RoutingError(f"{where}: team: required, lower-case letters, digits, '-' or '_'")
    try:
        priority = Priority(str(raw.get("priority")))
    except ValueError:
        raise RoutingError(f"{where}: priority: one of {', '.join(p.value for p in Priority)}") from None
    actions = _members(raw, "actions", where, RouteAction, f"{where}: actions", "action")
    return Rule(name, _conditions(raw.get("when", {}), where), team, priority, tuple(dict.fromkeys(actions)))


def _conditions(raw: Any, where: str) -> Conditions:
    if not isinstance(raw, Mapping):
        raise RoutingError(f"{where}: when: expected an object of conditions")
    _no_unknown(raw, _CONDITIONS, f"{where}: when")
    path = f"{where}: when"
    intents = _members(raw, "intent", path, Intent, f"{path}.intent", "intent")
    sentiments = {value.upper() for value in _strings(raw, "sentiment", path)}
    if sentiments - SENTIMENTS:
        raise RoutingError(f"{path}.sentiment: unknown label(s) {sorted(sentiments - SENTIMENTS)}")
    keywords = []
    for value in _strings(raw, "keywords", path):
        folded = fold(value).strip()
        if not folded:
            raise RoutingError(f"{path}.keywords: empty keyword")
        keywords.append(re.compile(rf"(?<!\w){re.escape(folded)}(?!\w)"))
    return Conditions(
        platform=frozenset(_strings(raw, "platform", path)),
        kind=frozenset(_strings(raw, "kind", path)),
        intent=frozenset(intents),
        min_confidence=_fraction(raw, "min_confidence", path, 0.0),
        sentiment=frozenset(sentiments),
        min_sentiment_confidence=_fraction(raw, "min_sentiment_confidence", path, 0.0),
        language=frozenset(value.lower() for value in _strings(raw, "language", path)),
        segment=frozenset(_strings(raw, "segment", path)),
        min_churn_risk=_fraction(raw, "min_churn_risk", path, None),
        keywords=tuple(keywords),
        entity_types=frozenset(value.upper() for value in _strings(raw, "entity_types", path)),
        entities=tuple(fold(value) for value in _strings(raw, "entities", path)),
    )


def _sla(raw: Any, source: str) -> dict[Priority, int]:
    if not isinstance(raw, Mapping):
        raise RoutingError(f"{source}: sla_minutes: required, minutes to first response per priority")
    sla = {}
    for priority in Priority:
        value = raw.get(priority.value)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise RoutingError(f"{source}: sla_minutes.{priority.value}: required, a whole number of minutes above 0")
        sla[priority] = value
    _no_unknown(raw, {p.value for p in Priority}, f"{source}: sla_minutes")
    return sla


def _churn(raw: Any, source: str) -> ChurnSettings:
    values = _section(raw, "churn", {"alert_at", "rearm_below"}, source)
    settings = ChurnSettings(
        alert_at=_fraction(values, "alert_at", f"{source}: churn", ChurnSettings.alert_at),
        rearm_below=_fraction(values, "rearm_below", f"{source}: churn", ChurnSettings.rearm_below),
    )
    if settings.rearm_below >= settings.alert_at:
        raise RoutingError(f"{source}: churn.rearm_below: must be below churn.alert_at (that gap is the hysteresis)")
    return settings


def _crisis(raw: Any, source: str) -> CrisisSettings:
    keys = {"bucket_minutes", "baseline_hours", "z_threshold", "min_count", "calm_z"}
    values = _section(raw, "crisis", keys, source)
    where = f"{source}: crisis"
    settings = CrisisSettings(
        bucket_minutes=_whole(values, "bucket_minutes", where, CrisisSettings.bucket_minutes),
        baseline_hours=_whole(values, "baseline_hours", where, CrisisSettings.baseline_hours),
        z_threshold=_positive(values, "z_threshold", where, CrisisSettings.z_threshold),
        min_count=_whole(values, "min_count", where, CrisisSettings.min_count),
        calm_z=_positive(values, "calm_z", where, CrisisSettings.calm_z),
    )
    if 1440 % settings.bucket_minutes:
        raise RoutingError(f"{where}.bucket_minutes: must divide a day (5, 10, 15, 30, 60, ...)")
    if settings.baseline_hours * 60 < 4 * settings.bucket_minutes:
        raise RoutingError(f"{where}.baseline_hours: the baseline needs at least four buckets")
    if settings.calm_z >= settings.z_threshold:
        raise RoutingError(f"{where}.calm_z: must be below crisis.z_threshold")
    return settings


def _leads(raw: Any, source: str) -> LeadSettings:
    values = _section(raw, "leads", {"min_score"}, source)
    return LeadSettings(min_score=_fraction(values, "min_score", f"{source}: leads", LeadSettings.min_score))


def _section(raw: Any, name: str, keys: set[str], source: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RoutingError(f"{source}: {name}: expected an object")
    _no_unknown(raw, keys, f"{source}: {name}")
    return raw


def _strings(raw: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(item, str) and item for item in value):
        raise RoutingError(f"{where}.{key}: expected a list of non-empty strings")
    return list(value)


def _members(raw: Mapping[str, Any], key: str, where: str, kind: type[_E], field: str, noun: str) -> list[_E]:
    """The strings under `key` as members of `kind`; an unknown one is named with what is allowed."""
    members = []
    for value in _strings(raw, key, where):
        try:
            members.append(kind(value))
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise RoutingError(f"{field}: unknown {noun} {value!r} (expected {allowed})") from None
    return members


def _number(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RoutingError(f"{where}.{key}: expected a number")
    return float(value)


def _fraction(raw: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    value = _number(raw, key, where)
    if value is None:
        return default
    if not 0.0 <= value <= 1.0:
        raise RoutingError(f"{where}.{key}: expected a number from 0 to 1")
    return value


def _positive(raw: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = _number(raw, key, where)
    if value is None:
        return default
    if value <= 0:
        raise RoutingError(f"{where}.{key}: expected a number above 0")
    return value


def _whole(raw: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RoutingError(f"{where}.{key}: expected a whole number above 0")
    return value


def _no_unknown(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RoutingError(f"{where}: unknown field(s) {unknown} (known: {', '.join(sorted(known))})")
