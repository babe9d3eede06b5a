"""Text an action sends (a Slack message, an email body, a note) may quote the event's context:
``Order {{ order.number }} ({{ order.total }} {{ order.currency }})``. Rendered in Jinja's sandbox (no attribute
tricks, no I/O), strictly (an unknown name is an error), and checked on sample contexts when the rule is saved."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel


class _Template:
    """Marks a parameter as a template over the event's context."""


TemplateText = Annotated[str, _Template()]


class TemplateProblem(ValueError):
    pass


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render(text: str, context: dict[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return _env().from_string(text).render(**context)
    except TemplateError as err:
        raise TemplateProblem(str(err)) from err


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
