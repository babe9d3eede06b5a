"""`backroom support …`: the agent's conversations, what it resolved and what it handed over, a way to talk to it
from the terminal, and fetching its mailbox."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

import typer
from rich.markup import escape

from backroom.bootstrap import FetchedMail
from backroom.entrypoints.cli.common import (
    backroom_app,
    console,
    err_console,
    exit_with_error,
    print_json,
    print_rows,
)
from backroom.errors import BackroomError
from backroom.support.commands import HandleSupportMessage

app = typer.Typer(help="Support agent: conversations, stats, talk to it.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("list")
def list_conversations(status: str = typer.Option(None, help="open, handed_over or closed"), store: str = STORE,
                       limit: int = 100, as_json: bool = typer.Option(False, "--json")) -> None:
    from backroom.adapters.db.support import conversation_rows

    with backroom_app() as br, br.engine.connect() as conn:
        rows = conversation_rows(conn, br.store_id(store), status, limit)
    print_rows("Support conversations", rows, ["id", "channel", "status", "handover", "last_intent", "messages",
                                               "updated_at"], as_json)


@app.command("show")
def show(conversation_id: int, store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    from backroom.adapters.db.support import conversation_detail

    with backroom_app() as br, br.engine.connect() as conn:
        found = conversation_detail(conn, br.store_id(store), conversation_id)
    if found is None:
        exit_with_error(f"no conversation {conversation_id}", 3)
    if as_json:
        print_json(found)
        return
    console.print(f"[bold]conversation {found['id']}[/] ({found['channel']}, {found['status']})")
    for m in found["transcript"]:
        who = "customer" if m["direction"] == "in" else "agent"
        extra = "" if m["direction"] == "in" else (
            f"  [dim]{', '.join(m['intents'])}{' · handover: ' + m['handover'] if m['handover'] else ''}"
            f"{' · verified' if m['verified'] else ''}[/]")
        console.print(f"[bold]{who}:[/] {m['text']}{extra}")


@app.command("stats")
def stats(store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    """Deflection and hours saved, from the stored conversations."""
    from backroom.adapters.db.support import support_stats

    with backroom_app() as br, br.engine.connect() as conn:
        figures = support_stats(conn, br.store_id(store), br.settings.support.minutes_per_conversation)
    if as_json:
        print_json(figures)
        return
    deflection = "-" if figures["deflection"] is None else f"{figures['deflection']:.0%}"
    console.print(f"conversations {figures['conversations']}: resolved by the agent {figures['automated']} "
                  f"({deflection}), handed over {figures['handed_over']}; hours saved {figures['hours_saved']}")
    for reason, count in figures["handover_reasons"].items():
        console.print(f"  handed over — {reason}: {count}")


@app.command("fetch-mail")
def fetch_mail(once: bool = typer.Option(False, "--once", help="fetch once and exit (default: every poll_every_s)"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Fetch customer email from the IMAP mailbox (BACKROOM_SUPPORT__IMAP__…) and answer it, as a worker does.
    Without --once it polls until interrupted; a failed poll is reported and the next one tried."""
    with backroom_app() as br:
        every = br.settings.support.imap.poll_every_s
        if once:
            _print_fetched(br.fetch_mail(), as_json)
            return
        if every <= 0:
            exit_with_error("BACKROOM_SUPPORT__IMAP__POLL_EVERY_S is 0: use --once", 2)
        while True:
            try:
                _print_fetched(br.fetch_mail(), as_json)
            except BackroomError as err:
                err_console.print(f"[bold red]error:[/] {escape(err.message)} [{err.code}]")
            time.sleep(every)


def _print_fetched(fetched: list[FetchedMail] | None, as_json: bool) -> None:
    if as_json:
        print_json(None if fetched is None else [dataclasses.asdict(f) for f in fetched])
        return
    if fetched is None:
        console.print("another worker is fetching the mailbox")
        return
    counts = Counter(f.outcome for f in fetched)
    console.print(f"fetched {len(fetched)}" + "".join(f", {outcome} {n}" for outcome, n in sorted(counts.items())))


@app.command("say")
def say(text: str, conversation: str = typer.Option("terminal", help="conversation id (reuse it to go on)"),
        email: str = typer.Option(None, help="the sender's email, as a logged-in customer"), store: str = STORE,
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Send the agent a message as a customer would (the API channel) and print its reply."""
    with backroom_app() as br:
        outcome = br.handle(HandleSupportMessage("api", conversation, text, email, email is not None), store)
    reply = outcome.reply
    if as_json:
        print_json({"reply": reply.text, "intents": reply.intents, "actions": reply.actions,
                    "handover": reply.handover, "verified": reply.verified})
        return
    console.print(reply.text)
    console.print(f"[dim]{', '.join(reply.intents)} ({reply.confidence:.0%})"
                  + (f" · handed over: {reply.handover.value}" if reply.handover else "")
                  + (" · verified" if reply.verified else "") + "[/]")
