"""`backroom flows …`: the marketing flows, whether they run, their funnel, a template preview, and a tick."""

from __future__ import annotations

from typing import Any

import typer

from backroom.adapters.db import marketing as marketing_db
from backroom.adapters.email.smtp import SUBJECTS, TemplateRenderer
from backroom.bootstrap import WIRED_TRIGGERS, all_flows
from backroom.config import Settings
from backroom.entrypoints.cli.common import backroom_app, console, exit_with_error, print_json, print_rows
from backroom.errors import BackroomError
from backroom.marketing.attribution import attribute
from backroom.marketing.funnel import funnel
from backroom.marketing.lifecycle import sample_extras
from backroom.marketing.model import Flow, SendEmail
from backroom.marketing.service import sample_context

app = typer.Typer(help="Marketing flows: which run, their funnel, preview their emails.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")
JSON = typer.Option(False, "--json")


def _flows(settings: Settings) -> list[Flow]:
    try:
        return all_flows(settings)
    except BackroomError as err:
        exit_with_error(err.message, 5)


@app.command("list")
def list_flows(as_json: bool = JSON) -> None:
    """Every flow, whether it is enabled (BACKROOM_MARKETING__ENABLED_FLOWS) and whether its trigger is wired."""
    settings = Settings()
    enabled = set(settings.marketing.enabled_flows)
    rows = [{"flow": f.name, "trigger": f.trigger.name, "enabled": f.name in enabled,
             "trigger_wired": f.trigger.name in WIRED_TRIGGERS, "priority": f.priority,
             "emails": [s.template for s in f.steps if isinstance(s, SendEmail)]} for f in _flows(settings)]
    print_rows("Marketing flows", rows, ["flow", "trigger", "enabled", "trigger_wired", "priority", "emails"], as_json)


@app.command("funnel")
def show_funnel(flow: str = typer.Option(None, "--flow", help="one flow only"), store: str = STORE,
                as_json: bool = JSON) -> None:
    """Per flow: enrolled, emails sent, skipped and deferred (by reason), exits (by reason), completed,
    unsubscribed, orders attributed (last touch within 5 days) and their revenue."""
    with backroom_app() as br:
        store_id = br.store_id(store)
        enrollments = marketing_db.enrollments(br.engine, store_id, flow)
        touches, orders = marketing_db.touches_and_orders(br.engine, store_id)
    conversions = [c for c in (attribute(o, touches) for o in orders) if c is not None and (not flow or c.flow == flow)]
    rows = [_row(r) for r in funnel(enrollments, conversions).values()]
    print_rows("Flow funnel", rows, ["flow", "enrolled", "sent", "skipped", "deferred", "exited", "completed",
                                     "unsubscribed", "converted", "revenue"], as_json)


def _row(r: Any) -> dict[str, Any]:
    return {"flow": r.flow, "enrolled": r.enrolled, "sent": r.sent, "skipped": dict(r.skipped),
            "deferred": dict(r.deferred), "exited": dict(r.exited), "completed": r.completed,
            "unsubscribed": r.unsubscribed, "converted": r.converted,
            "revenue": {currency: str(total) for currency, total in r.revenue.items()}}


@app.command("preview")
def preview(name: str = typer.Argument(..., help="a flow, or a template name"),
            step: int = typer.Option(1, "--step", help="which of the flow's emails (1 = the first)"),
            html: bool = typer.Option(False, "--html", help="print the HTML part instead of the text"),
            as_json: bool = JSON) -> None:
    """Render a flow's email with sample data (a two-line cart, a 10 % code) — edit the templates in
    adapters/email/templates/ and look again."""
    template = _template(name, step)
    subject, text, page = TemplateRenderer().render(template, {**sample_context(), **sample_extras()})
    if as_json:
        print_json({"template": template, "subject": subject, "text": text, "html": page})
        return
    console.print(f"[bold]{template}[/] — Subject: {subject}\n")
    typer.echo(page if html else text)


def _template(name: str, step: int) -> str:
    if name in SUBJECTS:
        return name
    flow = next((f for f in _flows(Settings()) if f.name == name), None)
    if flow is None:
        exit_with_error(f"no flow or template named {name}", 3)
    emails = [s.template for s in flow.steps if isinstance(s, SendEmail)]
    if not 1 <= step <= len(emails):
        exit_with_error(f"{name} has {len(emails)} email(s): --step 1..{len(emails)}", 5)
    template = emails[step - 1]
    if template not in SUBJECTS:
        exit_with_error(f"{name}'s email {step} ({template}) has no template yet", 3)
    return template


@app.command("tick")
def tick(as_json: bool = JSON) -> None:
    """Advance every due enrollment now (what a worker does every marketing.tick_every_s seconds)."""
    with backroom_app() as br:
        done = br.advance_flows()
    summary = {"taken": done.taken, "sent": done.sent, "deferred": done.deferred, "discounts": done.discounts,
               "finished": done.finished, "outcomes": done.outcomes}
    if as_json:
        print_json(summary)
        return
    console.print(" ".join(f"{k} {v}" for k, v in summary.items() if k != "outcomes")
                  + "".join(f"\n  {label}: {n}" for label, n in sorted(done.outcomes.items())))


@app.command("scan")
def scan(as_json: bool = JSON) -> None:
    """Enroll lapsed customers in the enabled customer_lapsed flows now (what a worker does once a day); the next
    tick sends."""
    with backroom_app() as br:
        entered = br.scan_lapsed_customers()
    if as_json:
        print_json({"entered": len(entered)})
        return
    console.print(f"entered {len(entered)}")
