"""Text an action sends (a Slack message, an email body, a note) may quote the event's context:
``Order {{ order.number }} ({{ order.total }} {{ order.currency }})``. Rendered in Jinja's sandbox (no attribute
tricks, no I/O), strictly (an unknown name is an error), and checked on sample contexts when the rule is saved."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel


class _Template:
    """Marks a parameter as a template over the event's context."""


TemplateText = Annotated[str, _Template()]


class TemplateProblem(ValueError):
    pass


MAX_OUTPUT = 10_000  # characters a rendered parameter may have


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, plus bounds on the two operators that can make a template allocate without limit."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            size = max(len(v) if isinstance(v, str | list | tuple) else 0 for v in (left, right))
            times = next((v for v in (left, right) if isinstance(v, int)), 1)
            if size and size * times > MAX_OUTPUT:
                raise SecurityError("repeated text too long")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return _Sandbox(undefined=StrictUndefined, autoescape=False)


def render(text: str, context: dict[str, Any]) -> str:
    """Render, or raise TemplateProblem for anything the template does wrong (an unknown name, a division by zero on
    this event's data, a sandbox refusal): a rule's text must never break the transaction it runs in."""
    if "{" not in text:
        return text
    try:
        out = _env().from_string(text).render(**context)
    except Exception as err:
        raise TemplateProblem(f"{type(err).__name__}: {err}" if not isinstance(err, TemplateError) else str(err)) \
            from err
    return out if len(out) <= MAX_OUTPUT else out[:MAX_OUTPUT - 1] + "…"


def template_fields(params: BaseModel) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, info in type(params).model_fields.items():
        if any(isinstance(m, _Template) for m in info.metadata):
            value = getattr(params, name)
            if isinstance(value, str):
                out[name] = value
    return out


def check_templates(params: BaseModel, samples: list[dict[str, Any]]) -> None:
    for name, text in template_fields(params).items():
        for context in samples:
            try:
                render(text, context)
            except TemplateProblem as err:
                raise TemplateProblem(f"{name}: {err}") from err


def render_params(params: BaseModel, context: dict[str, Any]) -> dict[str, Any]:
    """The parameters with every template filled in from the context."""
    out = params.model_dump()
    for name, text in template_fields(params).items():
        out[name] = render(text, context)
    return out
