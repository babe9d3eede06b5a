"""`backroom store …`: the store itself — its name, currency and the time zone its hours are kept in."""

from __future__ import annotations

import typer

from backroom.entrypoints.cli.common import backroom_app, console, print_json

app = typer.Typer(help="The store: its name, currency and time zone.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("show")
def show(store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    """The store's slug, name, currency and time zone."""
    with backroom_app() as br:
        profile = br.store_profile(store)
    if as_json:
        print_json(profile)
        return
    for name, value in profile.items():
        console.print(f"{name:<9} {value}")


@app.command("timezone")
def timezone(zone: str = typer.Argument(..., help="an IANA name, e.g. Europe/London or America/New_York"),
             store: str = STORE) -> None:
    """Set the store's time zone: its business hours (alerts), the nightly replenishment plan and quiet hours for
    customers whose own zone is unknown are kept in it. Exit 5 for a name that is not a time zone."""
    with backroom_app() as br:
        profile = br.set_store_timezone(zone, store, via="cli")
    console.print(f"{profile['store']}: time zone {profile['timezone']}")
