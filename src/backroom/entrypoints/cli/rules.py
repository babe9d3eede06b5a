"""`backroom rules …`: write rules in YAML, test them on the past, save them (versioned), switch them live."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.markup import escape

from backroom.adapters.db import rules as rules_db
from backroom.config import Settings
from backroom.entrypoints.cli.common import backroom_app, console, exit_with_error, print_json, print_rows
from backroom.rules.actions import ACTIONS
from backroom.rules.dryrun import DryRunReport
from backroom.rules.model import RuleDefinition, RuleInvalid, RuleMode, compile_all, parse_duration, parse_rules_text
from backroom.rules.triggers import TRIGGERS, fields

app = typer.Typer(help="Rules: when <event> if <condition> then <actions>; dry-run, shadow, live.",
                  no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")
JSON = typer.Option(False, "--json")


def _read(path: Path) -> list[RuleDefinition]:
    try:
        text = path.read_text()
    except OSError as err:
        exit_with_error(f"cannot read {path}: {err.strerror}", 5)
    try:
        definitions = parse_rules_text(text)
        compile_all(definitions)
    except RuleInvalid as err:
        _print_problems(err)
        raise typer.Exit(5) from err
    return definitions


def _print_problems(err: RuleInvalid) -> None:
    console.print("[bold red]The rules cannot be saved:[/]")
    for name, problems in err.problems.items():
        for problem in problems:
            console.print(f"  [bold]{escape(name)}[/]: {escape(problem)}")


@app.command("check")
def check(path: Path) -> None:
    """Check a rules file (triggers, fields, types, actions, parameters, templates) without saving anything."""
    definitions = _read(path)
    console.print(f"[green]ok[/]: {len(definitions)} rules in {path}")


@app.command("apply")
def apply(path: Path, store: str = STORE, actor: str = typer.Option("cli", help="who made the change"),
          as_json: bool = JSON) -> None:
    """Save the rules in a file. A changed rule gets a new version; unchanged rules keep theirs."""
    definitions = _read(path)
    with backroom_app() as br:
        results = rules_db.save_rules(br.engine, br.store_id(store), definitions, actor, br.clock.now())
    modes = {d.name: d.mode.value for d in definitions}
    print_rows("Rules saved", [{"name": r.name, "version": r.version, "change": r.change, "mode": modes[r.name]}
                               for r in results], ["name", "version", "change", "mode"], as_json)


@app.command("list")
def list_rules(store: str = STORE, as_json: bool = JSON) -> None:
    """The store's rules, in the order they run, with how often each fired."""
    with backroom_app() as br:
        rows = rules_db.list_rules(br.engine, br.store_id(store))
    print_rows("Rules (in the order they run; conditions: rules show NAME or --json)", rows,
               ["position", "name", "mode", "version", "when", "then", "fired_live", "fired_shadow"], as_json)


@app.command("show")
def show(name: str, store: str = STORE, as_json: bool = JSON) -> None:
    """A rule's current definition and every earlier version."""
    with backroom_app() as br:
        detail = rules_db.rule_detail(br.engine, br.store_id(store), name)
    if as_json:
        print_json(detail)
        return
    d = detail["definition"]
    console.print(f"[bold]{detail['name']}[/] v{detail['version']} — {detail['mode']}")
    if d.get("description"):
        console.print(d["description"])
    console.print(f"when  {d['when']}\nif    {d['if']}")
    for action in d["then"]:
        console.print(f"then  {action['action']} {action['params'] or ''}")
    print_rows("Versions", [{k: v for k, v in x.items() if k != "definition"} for x in detail["versions"]],
               ["version", "created_by", "created_at"], False)


@app.command("mode")
def mode(name: str, new_mode: RuleMode = typer.Argument(..., metavar="live|shadow|off"), store: str = STORE) -> None:
    """Switch a rule live, to shadow (record what it would do) or off."""
    with backroom_app() as br:
        rules_db.set_rule_mode(br.engine, br.store_id(store), name, new_mode, br.clock.now())
    console.print(f"{name} is now {new_mode.value}")


@app.command("history")
def history(name: str, store: str = STORE, limit: int = typer.Option(20, min=1, max=500), as_json: bool = JSON) -> None:
    """A rule's firings, newest first: the version that fired, what it saw and what it did."""
    with backroom_app() as br:
        rows = rules_db.rule_history(br.engine, br.store_id(store), name, limit)
    if as_json:
        print_json(rows)
        return
    print_rows(f"Firings of {name}", [{**r, "inputs": _short(r["inputs"]), "outcome": _outcome(r["outcome"])}
                                      for r in rows],
               ["id", "at", "version", "mode", "trigger", "subject", "inputs", "outcome"], False)


@app.command("test")
def dry_run(path: Path | None = typer.Argument(None, help="rules file; omit to test the store's saved rules"),
            since: str = typer.Option("90d", help="how far back: 24h, 90d, 2w …"),
            replay: str | None = typer.Option(None, help="'demo': replay the demo store's day, then test on all of it"),
            store: str = STORE, as_json: bool = JSON) -> None:
    """Dry run: what the rules would have done over recorded events, per rule, with examples. Does nothing."""
    definitions = _read(path) if path is not None else None
    if replay is not None:
        if replay != "demo":
            exit_with_error(f"unknown history {replay!r}: use --replay demo", 5)
        from backroom.demo.run import DEMO_STORE, run_demo

        console.print("[dim]• replaying the demo store's day …[/]")
        run_demo(Settings())
        store = DEMO_STORE
    try:
        window = parse_duration(since)
    except ValueError as err:
        exit_with_error(str(err), 5)
    with backroom_app() as br:
        # a replayed history lies in its own (simulated) time: all of it is tested
        report = rules_db.dry_run_rules(br.engine, br.store_id(store), definitions,
                                        since=None if replay else br.clock.now() - window)
    if as_json:
        print_json(report.as_dict())
        return
    _print_report(report)


def _print_report(report: DryRunReport) -> None:
    span = f" from {report.first_event:%Y-%m-%d %H:%M} to {report.last_event:%Y-%m-%d %H:%M}" \
        if report.first_event and report.last_event else ""
    console.print(f"\n[bold]Dry run[/] over {report.events} recorded events{span}. Nothing was done.\n")
    print_rows("Per rule", [r.as_dict() for r in report.rules],
               ["name", "trigger", "mode", "evaluated", "fired", "distinct_subjects", "limited", "errors"], False)
    for r in report.rules:
        for ex in r.examples:
            would = "; ".join(f"{a['action']}({_short(a['params'])})" for a in ex["would"])
            console.print(f"  [bold]{r.name}[/] on {ex['subject']} ({ex['order_number'] or ex['event']}) at "
                          f"{ex['at'][:16]}: saw {_short(ex['inputs'])} → would {would}")
        for err in r.error_examples:
            console.print(f"  [bold red]{r.name}[/] error: {err}")


@app.command("triggers")
def triggers(name: str | None = typer.Argument(None, help="one trigger, to list every field it offers"),
             as_json: bool = JSON) -> None:
    """The events a rule can listen to; with a NAME, every field its condition and templates can read."""
    if name is not None and name not in TRIGGERS:
        exit_with_error(f"unknown trigger {name!r}; known: {', '.join(TRIGGERS)}", 5)
    chosen = [TRIGGERS[name]] if name is not None else list(TRIGGERS.values())
    data: list[dict[str, Any]] = [{"name": t.name, "summary": t.summary, "about": t.subject, "objects": list(t.schema),
             "fields": {f"{obj}.{path}": kind for obj, schema in t.schema.items() for path, kind in fields(schema)}}
            for t in chosen]
    if as_json:
        print_json(data)
    elif name is None:
        print_rows("Triggers", [{**t, "objects": ", ".join(t["objects"])} for t in data],
                   ["name", "objects", "summary"], False)
        console.print("Fields of one trigger: [bold]backroom rules triggers order_created[/]")
    else:
        print_rows(f"{name}: {data[0]['summary']}", [{"field": k, "type": v} for k, v in data[0]["fields"].items()],
                   ["field", "type"], False)


@app.command("actions")
def actions(as_json: bool = JSON) -> None:
    """Every action a rule can take, with its parameters."""
    data: list[dict[str, Any]] = [
        {"name": a.name, "summary": a.summary, "needs": a.subject or "", "params": _params(a.params)}
        for a in ACTIONS.values()]
    if as_json:
        print_json(data)
        return
    print_rows("Actions", [{**a, "params": ", ".join(f"{k}: {v}" for k, v in a["params"].items())} for a in data],
               ["name", "params", "summary"], False)


@app.command("starter")
def starter() -> None:
    """Print the starter rules for the order pipeline (documented; off or shadow unless obviously safe)."""
    typer.echo(files("backroom.rules").joinpath("starter.yaml").read_text(), nl=False)


def _params(model: type[BaseModel]) -> dict[str, str]:
    out = {}
    for name, info in model.model_fields.items():
        kind = getattr(info.annotation, "__name__", str(info.annotation)).replace("typing.", "")
        out[name] = kind + ("" if info.is_required() else f" = {info.default!r}")
    return out


def _short(data: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in data.items())
    return text if len(text) <= 120 else text[:117] + "…"


def _outcome(outcome: dict[str, Any]) -> str:
    if "error" in outcome:
        return f"error: {outcome['error']}"
    if outcome.get("mode") == "shadow":
        return "would: " + "; ".join(f"{a['action']}({_short(a['params'])})" for a in outcome.get("would", []))
    return "; ".join(f"{a['action']}: {a['result']}" for a in outcome.get("actions", []))
