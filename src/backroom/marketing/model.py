"""Flow definitions: data an owner can read and edit, validated and compiled once, every problem reported at once.

    flows:
      - name: abandoned_checkout
        trigger: checkout_abandoned
        priority: 20                 # when the frequency cap lets only one through, the higher goes first
        reentry_cooldown: 7d         # the same customer enters this flow again at most once a week
        filter: checkout.total >= 10.0
        exit: enrollment.ordered_since || checkout.completed || customer.unsubscribed
        steps:
          - wait: 1h
          - send_email: {template: abandoned_checkout_reminder}
          - wait: 23h
          - id: offer
            if: checkout.total >= 40.0
            else: last_call           # or `exit`; jumps only go forward, so every flow ends
          - create_discount: {percent: 10, expires_in: 72h}
          - id: last_call
            send_email: {template: abandoned_checkout_last_call, kind: marketing}

Steps: ``wait`` (a duration, or ``{repurchase_interval: 1.0, min: 21d, max: 180d, otherwise: 60d}``: the
customer's own interval between orders times the factor, clamped), a condition (``if`` / ``then`` / ``else``),
``send_email`` (template, ``marketing`` or ``transactional``), ``create_discount`` (percent, expiry; at most one
per flow) and ``exit`` (a reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from difflib import get_close_matches
from importlib.resources import files
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from backroom.errors import InvalidInput
from backroom.marketing.consent import MessageKind
from backroom.marketing.triggers import FLOW_TRIGGERS
from backroom.rules.expressions import Condition, ExpressionError, compile_condition
from backroom.rules.model import parse_duration
from backroom.rules.triggers import Trigger

EXIT = "exit"


class FlowInvalid(InvalidInput):
    """A flow file that cannot be used; ``problems`` maps each flow name to what is wrong with it."""

    code = "flow_invalid"

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{name}: {p}" for name, items in self.problems.items() for p in items))


def _duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_duration)]  # 90s, 15m, 24h, 90d, 2w


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")


class WaitDefinition(_Step):
    type: Literal["wait"] = "wait"
    duration: Duration | None = None
    repurchase_interval: float | None = Field(None, gt=0)  # a factor of the customer's own interval
    min: Duration | None = None
    max: Duration | None = None
    otherwise: Duration | None = None  # for customers with fewer than two orders

    @model_validator(mode="after")
    def _one_kind(self) -> WaitDefinition:
        if (self.duration is None) == (self.repurchase_interval is None):
            raise ValueError("wait: give a duration (wait: 24h) or a repurchase_interval factor, not both")
        if self.repurchase_interval is not None and self.otherwise is None:
            raise ValueError("wait: a repurchase_interval wait needs `otherwise:` for customers with one order")
        return self


class ConditionDefinition(_Step):
    type: Literal["condition"] = "condition"
    condition: str = Field(alias="if")
    then: str | None = None  # a later step's id, or `exit`; the next step when absent
    else_: str | None = Field(None, alias="else")


class SendEmailDefinition(_Step):
    type: Literal["send_email"] = "send_email"
    template: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-.]{0,99}$")
    kind: MessageKind = MessageKind.MARKETING


class CreateDiscountDefinition(_Step):
    type: Literal["create_discount"] = "create_discount"
    percent: int = Field(ge=1, le=90)
    expires_in: Duration


class ExitDefinition(_Step):
    type: Literal["exit"] = "exit"
    reason: str = "flow_exit"


StepDefinition = Annotated[
    WaitDefinition | ConditionDefinition | SendEmailDefinition | CreateDiscountDefinition | ExitDefinition,
    Field(discriminator="type"),
]
_SHORTHAND = ("wait", "send_email", "create_discount", "exit")


def _normalise_step(raw: Any) -> Any:
    """``{wait: 1h}`` / ``{send_email: {...}, id: x}`` / ``{if: ..., else: ...}`` → a typed step mapping."""
    if not isinstance(raw, dict) or "type" in raw:
        return raw
    if "if" in raw:
        cond = raw["if"]
        return {**raw, "type": "condition", "if": ("true" if cond else "false") if isinstance(cond, bool) else cond}
    keys = [k for k in _SHORTHAND if k in raw]
    if not keys:
        named = [k for k in raw if k != "id"]
        return {**raw, "type": str(named[0])} if named else raw  # validation names the unknown step kind
    if len(keys) > 1:
        return raw  # validation says what is wrong
    (key,) = keys
    rest = {k: v for k, v in raw.items() if k != key}
    value = raw[key]
    if key == "wait" and isinstance(value, str):
        return {**rest, "type": "wait", "duration": value}
    if key == "exit" and isinstance(value, str):
        return {**rest, "type": "exit", "reason": value}
    if key == "exit" and value is None:
        return {**rest, "type": "exit"}
    if isinstance(value, dict):
        return {**rest, **value, "type": key}
    return raw


class FlowDefinition(BaseModel):
    """What an owner writes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    description: str = ""
    trigger: str
    priority: int = 0
    reentry_cooldown: Duration = "30d"
    filter_: str = Field("true", alias="filter")
    exit_: str = Field("false", alias="exit")
    steps: list[StepDefinition] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("filter", "exit"):
            if isinstance(data.get(key), bool):
                data[key] = "true" if data[key] else "false"
        if isinstance(data.get("steps"), list):
            data["steps"] = [_normalise_step(s) for s in data["steps"]]
        return data


# --- compiled ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    duration: timedelta | None
    repurchase_factor: float | None = None
    at_least: timedelta | None = None
    at_most: timedelta | None = None
    otherwise: timedelta | None = None

    def length(self, repurchase_interval: timedelta | None) -> timedelta:
        if self.duration is not None:
            return self.duration
        if repurchase_interval is None or self.repurchase_factor is None:
            assert self.otherwise is not None  # checked when the definition was validated
            return self.otherwise
        wait = repurchase_interval * self.repurchase_factor
        if self.at_least is not None:
            wait = max(wait, self.at_least)
        if self.at_most is not None:
            wait = min(wait, self.at_most)
        return wait


@dataclass(frozen=True)
class Branch:
    condition: Condition
    then: int | None  # step index to continue at; None = exit
    otherwise: int | None


@dataclass(frozen=True)
class SendEmail:
    template: str
    kind: MessageKind


@dataclass(frozen=True)
class CreateDiscount:
    percent: int
    expires_in: timedelta


@dataclass(frozen=True)
class Exit:
    reason: str


Step = Wait | Branch | SendEmail | CreateDiscount | Exit


@dataclass(frozen=True)
class Flow:
    name: str
    trigger: Trigger
    priority: int
    reentry_cooldown: timedelta
    filter: Condition
    exit: Condition
    steps: tuple[Step, ...]
    description: str = ""


# --- loading ----------------------------------------------------------------------------------------------------


def parse_flows(data: Any) -> list[FlowDefinition]:
    """``{flows: [...]}`` or a bare list → definitions; every problem at once."""
    items = data.get("flows") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FlowInvalid({"file": ["expected a list of flows under 'flows:'"]})
    problems: dict[str, list[str]] = {}
    out: list[FlowDefinition] = []
    for i, raw in enumerate(items, 1):
        label = str(raw.get("name", f"flow #{i}")) if isinstance(raw, dict) else f"flow #{i}"
        try:
            out.append(FlowDefinition.model_validate(raw))
        except ValidationError as err:
            problems.setdefault(label, []).extend(_messages(err))
    names = [d.name for d in out]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.setdefault(name, []).append("the same name is used twice")
    if problems:
        raise FlowInvalid(problems)
    return out


def load_flows_text(text: str) -> list[Flow]:
    """A flows file (YAML) → compiled flows."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise FlowInvalid({"file": [f"not valid YAML: {err}"]}) from err
    return compile_flows(parse_flows(data))


def builtin_flows() -> list[Flow]:
    """The ready-made flows shipped with backroom (``flows.yaml`` next to this module)."""
    return load_flows_text(files("backroom.marketing").joinpath("flows.yaml").read_text(encoding="utf-8"))


def compile_flows(definitions: list[FlowDefinition]) -> list[Flow]:
    problems: dict[str, list[str]] = {}
    out: list[Flow] = []
    for defn in definitions:
        try:
            out.append(compile_flow(defn))
        except FlowInvalid as err:
            problems.update(err.problems)
    if problems:
        raise FlowInvalid(problems)
    return out


def compile_flow(defn: FlowDefinition) -> Flow:
    trigger = FLOW_TRIGGERS.get(defn.trigger)
    if trigger is None:
        hint = get_close_matches(defn.trigger, list(FLOW_TRIGGERS), n=1)
        known = ", ".join(sorted(FLOW_TRIGGERS))
        raise FlowInvalid({defn.name: [f"unknown trigger '{defn.trigger}'" + (f"; did you mean '{hint[0]}'?" if hint
                                                                          else f" (known: {known})")]})
    problems: list[str] = []
    filter_ = _condition("filter", defn.filter_, trigger, problems)
    exit_ = _condition("exit", defn.exit_, trigger, problems)
    steps = _compile_steps(defn.steps, trigger, problems)
    if problems or filter_ is None or exit_ is None:
        raise FlowInvalid({defn.name: problems})
    return Flow(defn.name, trigger, defn.priority, parse_duration(defn.reentry_cooldown), filter_, exit_,
                tuple(steps), defn.description)


def _condition(label: str, source: str, trigger: Trigger, problems: list[str]) -> Condition | None:
    try:
        return compile_condition(source, trigger)
    except ExpressionError as err:
        problems.extend(f"{label}: {p}" for p in err.problems)
        return None


def _compile_steps(defs: list[StepDefinition], trigger: Trigger, problems: list[str]) -> list[Step]:
    ids: dict[str, int] = {}
    for i, d in enumerate(defs):
        if d.id is not None:
            if d.id in ids or d.id == EXIT:
                problems.append(f"step {i + 1}: id '{d.id}' is used twice or reserved")
            ids[d.id] = i
    if sum(isinstance(d, CreateDiscountDefinition) for d in defs) > 1:
        problems.append("a flow creates at most one discount")
    out: list[Step] = []
    for i, d in enumerate(defs):
        if isinstance(d, WaitDefinition):
            out.append(Wait(_delta(d.duration), d.repurchase_interval, _delta(d.min), _delta(d.max),
                            _delta(d.otherwise)))
        elif isinstance(d, ConditionDefinition):
            cond = _condition(f"step {i + 1}", d.condition, trigger, problems)
            then = _target(d.then, i, ids, problems)
            otherwise = _target(d.else_ or EXIT, i, ids, problems)
            if cond is not None:
                out.append(Branch(cond, then, otherwise))
        elif isinstance(d, SendEmailDefinition):
            out.append(SendEmail(d.template, d.kind))
        elif isinstance(d, CreateDiscountDefinition):
            out.append(CreateDiscount(d.percent, parse_duration(d.expires_in)))
        else:
            out.append(Exit(d.reason))
    return out


def _target(name: str | None, at: int, ids: Mapping[str, int], problems: list[str]) -> int | None:
    """A step index to jump to (None = exit); only forward, so every enrollment ends."""
    if name is None:
        return at + 1
    if name == EXIT:
        return None
    index = ids.get(name)
    if index is None:
        problems.append(f"step {at + 1}: no step with id '{name}'")
        return None
    if index <= at:
        problems.append(f"step {at + 1}: '{name}' is not a later step (jumps only go forward)")
        return None
    return index


def _delta(value: str | None) -> timedelta | None:
    return None if value is None else parse_duration(value)


def _messages(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        out.append(f"{loc}: {e['msg']}" if loc else str(e["msg"]))
    return out
