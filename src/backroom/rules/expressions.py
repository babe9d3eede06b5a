"""Conditions in CEL (the Common Expression Language): compiled once per rule version, checked when saved.

The CEL binding evaluates but does not type-check, so saving a condition runs three checks that together catch
what would otherwise fail at 2 a.m.: every dotted path (``order.shipping_address.country``) must exist in the
trigger's schema (with a "did you mean" on typos); the condition is evaluated on sample contexts of the trigger's
shape, each ``&&``/``||`` operand on its own too, so a type mismatch hiding behind a short circuit still shows;
and the result must be a bool.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cel

from backroom.rules.triggers import Schema, Trigger, sample_context

_STRING = (r"""(?:[rR](?:"[^"]*"|'[^']*')|[bB]?(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'))""")
_TOKENS = re.compile(rf"//[^\n]*|{_STRING}|(?<![\w.])"
                     r"(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)(?P<call>\s*\()?")
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
_KEYWORDS = frozenset({"true", "false", "null", "in", "int", "uint", "double", "bool", "string", "bytes", "list",
                       "map", "null_type", "type", "dyn"})


class ExpressionError(ValueError):
    """A condition that cannot be saved; ``problems`` lists each reason in words a store owner can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Condition:
    source: str
    program: cel.Program
    paths: tuple[str, ...]  # the context paths it reads, recorded as a firing's inputs

    def evaluate(self, context: cel.Context | dict[str, Any]) -> bool:
        return self.program.execute(context) is True


def compile_condition(source: str, trigger: Trigger) -> Condition:
    source = source.strip() or "true"
    try:
        program = cel.compile(source)
    except ValueError as err:
        raise ExpressionError([f"condition is not valid CEL: {_first_line(err)}"]) from err
    problems, paths = check_paths(source, trigger.schema)
    if not problems:
        problems = _check_on_samples(source, program, trigger)
    if problems:
        raise ExpressionError(problems)
    if not _same_on_pruned_samples(program, trigger, paths):
        paths = tuple(trigger.schema)  # a read the path scan cannot see: hand the rule whole objects
    return Condition(source, program, paths)


def check_paths(source: str, schema: Mapping[str, Schema]) -> tuple[list[str], tuple[str, ...]]:
    """Every identifier path must exist in the schema; returns the problems and the paths read."""
    local = set(_MACRO_VAR.findall(source))
    problems: list[str] = []
    paths: list[str] = []
    for match in _TOKENS.finditer(source):
        dotted = match.group("path")
        if not dotted or source[:match.start()].rstrip().endswith("."):
            continue  # a field of an indexed or computed value (``lines[0].sku``): checked on samples
        parts = [p.strip() for p in dotted.split(".")]
        if match.group("call"):
            parts = parts[:-1]  # a method or function name: size(), startsWith(), int()…
        if not parts or parts[0] in _KEYWORDS or parts[0] in local:
            continue
        problem, known = _walk(parts, schema)
        if problem:
            problems.append(problem)
        elif known and known not in paths:
            paths.append(known)
    return problems, tuple(paths)


def _walk(parts: list[str], schema: Mapping[str, Schema]) -> tuple[str | None, str | None]:
    node: Any = schema
    walked: list[str] = []
    for part in parts:
        if not isinstance(node, Mapping):
            break  # a list or scalar: method-style access is CEL's business (checked on samples)
        if part not in node:
            where = ".".join(walked) or "the context"
            hint = difflib.get_close_matches(part, list(node), n=1)
            suggestion = f"; did you mean '{'.'.join([*walked, hint[0]])}'?" if hint else ""
            known = ", ".join(sorted(node))
            return f"unknown field '{'.'.join([*walked, part])}' ({where} has: {known}){suggestion}", None
        walked.append(part)
        node = node[part]
    return None, ".".join(walked)


def _check_on_samples(source: str, program: cel.Program, trigger: Trigger) -> list[str]:
    problems: list[str] = []
    for variant in (0, 1):
        context = sample_context(trigger, variant)
        for operand in [source, *_operands(source)]:
            try:
                result = (program if operand is source else cel.compile(operand)).execute(context)
            except (ValueError, IndexError):
                continue  # an operand split where the grammar does not allow it, or an index the sample lacks
            except (TypeError, RuntimeError, KeyError) as err:
                reason = f"no field {err.args[0]!r} there" if isinstance(err, KeyError) else _first_line(err)
                problem = f"{'condition' if operand is source else repr(operand)}: {reason}"
                if problem not in problems:
                    problems.append(problem)
                continue
            if operand is source and not isinstance(result, bool):
                return [f"condition must be true or false, but gives a {type(result).__name__}"]
    return problems


def _same_on_pruned_samples(program: cel.Program, trigger: Trigger, paths: tuple[str, ...]) -> bool:
    """Evaluation hands CEL only ``paths`` of each context; make sure that gives what the whole context gives."""
    for variant in (0, 1):
        context = sample_context(trigger, variant)
        try:
            whole = program.execute(context)
        except Exception:
            continue  # e.g. an index the sample lacks: nothing to compare
        try:
            if program.execute(prune(context, paths)) != whole:
                return False
        except Exception:
            return False
    return True


def prune(context: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """Only the parts of the context the conditions read: handing values to CEL costs about a microsecond each,
    so a rule set that reads five fields should not pay for the sixty an order context holds."""
    out: dict[str, Any] = {}
    for path in paths:
        *parents, leaf = path.split(".")
        src: Any = context
        dst = out
        for part in parents:
            src = src.get(part) if isinstance(src, dict) else None
            if src is None:
                break
            dst = dst.setdefault(part, {})
        else:
            if isinstance(src, dict) and leaf in src:
                dst[leaf] = src[leaf]
    return out


def _operands(source: str) -> list[str]:
    """The operands of top-level ``&&`` and ``||`` (recursing into fully parenthesised ones)."""
    parts, depth, start, i, quote = [], 0, 0, 0, ""
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and source[i:i + 2] in ("&&", "||"):
            parts.append(source[start:i])
            start = i + 2
            i += 1
        i += 1
    if not parts:
        return []
    parts.append(source[start:])
    out: list[str] = []
    for part in (p.strip() for p in parts):
        out.append(part)
        if part.startswith("(") and part.endswith(")"):
            out.extend(_operands(part[1:-1]))
    return out


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]
