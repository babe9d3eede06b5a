"""Rules: when <trigger> if <CEL condition> then <actions>, each version compiled once and checked when saved.

    - name: first_order_high_value
      when: order_created
      if: order.total > 500 && customer.orders_count == 0
      then:
        - hold_fulfillment(reason='first_order_high_value')
        - notify_slack: {channel: '#ops', text: 'Order {{ order.number }} held for a look'}
      mode: shadow          # off | shadow (record what it would do) | live
      stop: false           # true: later rules do not see this event once this one fired
      limit: {per: subject, max: 1, window: 24h}   # at most one firing per order per day

Rules run in file order (``position``). A rule's definition (everything but its mode and position) is versioned:
saving a changed definition makes a new version, and every firing records the version that fired.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backroom.errors import InvalidInput
from backroom.rules.actions import ACTIONS, ActionSpec
from backroom.rules.expressions import Condition, ExpressionError, compile_condition
from backroom.rules.templates import TemplateProblem, check_templates, render_params
from backroom.rules.triggers import TRIGGERS, Trigger, sample_context


class RuleMode(StrEnum):
    LIVE = "live"
    SHADOW = "shadow"
    OFF = "off"


class RuleInvalid(InvalidInput):
    """A rule that cannot be saved; ``problems`` maps each rule name to what is wrong with it."""

    code = "rule_invalid"

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        self.problems = dict(problems)
        lines = [f"{name}: {p}" for name, items in self.problems.items() for p in items]
        super().__init__("; ".join(lines))


_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``90d``, ``2w``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 15m, 24h or 90d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per: str = Field("subject", pattern="^(subject|rule)$")
    max: int = Field(1, ge=1)
    window: str | None = None

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def window_delta(self) -> timedelta | None:
        return parse_duration(self.window) if self.window else None


class ActionCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str
    params: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> ActionCall:
        """``name``, ``name(key='value', n=2)`` or ``{name: {key: value}}``."""
        if isinstance(raw, ActionCall):
            return raw
        if isinstance(raw, dict) and set(raw) <= {"action", "params"} and "action" in raw:
            return cls(action=raw["action"], params=raw.get("params") or {})
        if isinstance(raw, dict) and len(raw) == 1:
            ((name, params),) = raw.items()
            if "(" in str(name) and isinstance(params, str):
                # YAML read ``- notify_slack(text='Held: {{ order.number }}')`` as a mapping at the ": "
                return cls._parse_call(f"{name}: {params}")
            if params is not None and not isinstance(params, dict):
                raise ValueError(f"parameters of {name} must be a mapping")
            return cls(action=str(name), params=params or {})
        if isinstance(raw, str):
            return cls._parse_call(raw.strip())
        raise ValueError(f"cannot read action {raw!r}")

    @classmethod
    def _parse_call(cls, text: str) -> ActionCall:
        if re.fullmatch(r"[a-z_][a-z0-9_]*", text):
            return cls(action=text)
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError as err:
            raise ValueError(f"cannot read action {text!r}: write name(key='value')") from err
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
            raise ValueError(f"cannot read action {text!r}: write name(key='value'), keywords only")
        try:
            params = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        except ValueError as err:
            raise ValueError(f"action {text!r}: parameter values must be literals") from err
        return cls(action=node.func.id, params=params)

    def render(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.action}({args})" if args else self.action


class RuleDefinition(BaseModel):
    """What an owner writes; ``canonical()`` (without mode) is what gets versioned."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    description: str = ""
    when: str
    condition: str = Field("true", alias="if")
    then: list[ActionCall] = Field(min_length=1)
    mode: RuleMode = RuleMode.SHADOW
    stop: bool = False
    limit: RateLimit | None = None

    @model_validator(mode="before")
    @classmethod
    def _actions(cls, data: Any) -> Any:
        if isinstance(data, dict) and "then" in data:
            then = data["then"]
            items = _rejoin_calls(then if isinstance(then, list) else [then])
            data = {**data, "then": [ActionCall.parse(a) for a in items]}
        if isinstance(data, dict) and isinstance(data.get("if"), bool):
            data = {**data, "if": "true" if data["if"] else "false"}
        if isinstance(data, dict) and data.get("mode") is False:  # YAML 1.1 reads a bare `off` as false
            data = {**data, "mode": "off"}
        return data

    def canonical(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "when": self.when, "if": self.condition,
            "then": [{"action": a.action, "params": a.params} for a in self.then], "stop": self.stop,
            "limit": self.limit.model_dump() if self.limit else None,
        }


@dataclass(frozen=True)
class BoundAction:
    spec: ActionSpec
    params: BaseModel
    call: ActionCall


@dataclass(frozen=True)
class CompiledRule:
    name: str
    version: int
    mode: RuleMode
    position: int
    trigger: Trigger
    condition: Condition
    actions: tuple[BoundAction, ...]
    stop: bool
    limit: RateLimit | None
    description: str = ""

    @property
    def policy(self) -> str:
        return f"rule:{self.name}"

    def would_do(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        """The actions with their templates filled from this context: what a shadow firing records and a dry run
        shows. A template that fails on this data shows its error instead."""
        out = []
        for bound in self.actions:
            try:
                params = render_params(bound.params, context)
            except TemplateProblem as err:
                params = {"error": str(err)}
            out.append({"action": bound.spec.name, "params": params})
        return out


def _rejoin_calls(items: list[Any]) -> list[Any]:
    """A YAML flow list splits ``[cancel_order(reason='x', confirm='auto')]`` at its comma: put calls back together."""
    out: list[Any] = []
    for item in items:
        if out and isinstance(item, str) and isinstance(out[-1], str) and out[-1].count("(") > out[-1].count(")"):
            out[-1] = f"{out[-1]}, {item}"
        else:
            out.append(item)
    return out


def parse_rules(data: Any) -> list[RuleDefinition]:
    """A YAML/JSON document (``{rules: [...]}`` or a bare list) → definitions; every problem at once."""
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RuleInvalid({"file": ["expected a list of rules under 'rules:'"]})
    problems: dict[str, list[str]] = {}
    out: list[RuleDefinition] = []
    for i, raw in enumerate(items, 1):
        label = raw.get("name", f"rule #{i}") if isinstance(raw, dict) else f"rule #{i}"
        try:
            out.append(RuleDefinition.model_validate(raw))
        except (ValidationError, ValueError) as err:
            problems.setdefault(str(label), []).extend(_validation_messages(err))
    names = [d.name for d in out]
    for name in {n for n in names if names.count(n) > 1}:
        problems.setdefault(name, []).append("the same name is used twice")
    if problems:
        raise RuleInvalid(problems)
    return out


def parse_rules_text(text: str) -> list[RuleDefinition]:
    """A rules file (YAML, of which JSON is a subset) → definitions."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        hint = ("; an action written as name(...) whose text contains ': ' or '{{' must be quoted as a whole: "
                "- \"notify_slack(text='Held: {{ order.number }}')\", or written as a mapping")
        raise RuleInvalid({"file": [f"not valid YAML: {err}{hint}"]}) from err
    return parse_rules(data)


def compile_all(definitions: Sequence[RuleDefinition]) -> list[CompiledRule]:
    """Compile a whole file, reporting the problems of every rule at once."""
    problems: dict[str, list[str]] = {}
    out = []
    for position, defn in enumerate(definitions, 1):
        try:
            out.append(compile_rule(defn, 0, position * 10))
        except RuleInvalid as err:
            problems.update(err.problems)
    if problems:
        raise RuleInvalid(problems)
    return out


def compile_rule(defn: RuleDefinition, version: int = 0, position: int = 0) -> CompiledRule:
    """Check and compile one definition; raises RuleInvalid listing every problem found."""
    problems: list[str] = []
    trigger = TRIGGERS.get(defn.when)
    if trigger is None:
        from difflib import get_close_matches

        hint = get_close_matches(defn.when, list(TRIGGERS), n=1)
        problems.append(f"unknown trigger '{defn.when}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                        + " (see `backroom rules triggers`)")
        raise RuleInvalid({defn.name: problems})
    condition: Condition | None = None
    try:
        condition = compile_condition(defn.condition, trigger)
    except ExpressionError as err:
        problems.extend(err.problems)
    actions = _bind_actions(defn.then, trigger, problems)
    if problems or condition is None:
        raise RuleInvalid({defn.name: problems})
    return CompiledRule(defn.name, version, defn.mode, position, trigger, condition, tuple(actions), defn.stop,
                        defn.limit, defn.description)


def _bind_actions(calls: Iterable[ActionCall], trigger: Trigger, problems: list[str]) -> list[BoundAction]:
    bound: list[BoundAction] = []
    samples = [sample_context(trigger, v) for v in (0, 1)]
    for call in calls:
        spec = ACTIONS.get(call.action)
        if spec is None:
            from difflib import get_close_matches

            hint = get_close_matches(call.action, list(ACTIONS), n=1)
            problems.append(f"unknown action '{call.action}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                            + " (see `backroom rules actions`)")
            continue
        try:
            params = spec.params.model_validate(call.params)
        except ValidationError as err:
            problems.extend(f"{call.action}: {m}" for m in _validation_messages(err))
            continue
        needs = spec.subject or params.needs_subject()
        if needs and needs != trigger.subject:
            problems.append(f"{call.render()} needs an {needs}, but {trigger.name} is about a {trigger.subject}")
            continue
        try:
            check_templates(params, samples)
        except TemplateProblem as err:
            problems.append(f"{call.action}: {err}")
            continue
        bound.append(BoundAction(spec, params, call))
    return bound


def _validation_messages(err: Exception) -> list[str]:
    if isinstance(err, ValidationError):
        out = []
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"])
            out.append(f"{loc}: {e['msg']}" if loc else str(e["msg"]))
        return out
    return [str(err)]
