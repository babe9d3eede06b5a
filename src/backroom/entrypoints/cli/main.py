"""The `backroom` command: one module per noun, `--json` on every read command."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from backroom.config import Settings
from backroom.entrypoints.cli import (
    alerts,
    backtest,
    connect,
    connections,
    csv_io,
    flows,
    orders,
    replay,
    replenish,
    returns,
    review,
    rules,
    stock,
    store,
    suppliers,
    support,
    suppressions,
)
from backroom.entrypoints.cli.common import (
    backroom_app,
    console,
    print_json,
    print_rows,
    print_status_and_exceptions,
    print_table,
)

app = typer.Typer(help="backroom: the back office of an online store, run by software.", no_args_is_help=True)
app.add_typer(orders.app, name="orders")
app.add_typer(review.app, name="review")
app.add_typer(rules.app, name="rules")
app.add_typer(stock.app, name="stock")
app.add_typer(alerts.app, name="alerts")
app.add_typer(replay.app, name="replay")
app.add_typer(backtest.app, name="backtest")
app.add_typer(connect.app, name="connect")
app.add_typer(connections.app, name="connections")
app.add_typer(csv_io.import_app, name="import")
app.add_typer(csv_io.export_app, name="export")
app.add_typer(suppliers.app, name="suppliers")
app.add_typer(replenish.app, name="replenish")
app.add_typer(support.app, name="support")
app.add_typer(returns.app, name="returns")
app.add_typer(flows.app, name="flows")
app.add_typer(suppressions.app, name="suppressions")
app.add_typer(store.app, name="store")


def _shown(path: Path) -> str:
    """A path as the user can use it: relative to where they are when it is under it (the default .backroom)."""
    resolved = path.resolve()
    return str(resolved.relative_to(Path.cwd())) if resolved.is_relative_to(Path.cwd()) else str(resolved)


@app.command()
def demo(orders_count: int = typer.Option(240, "--orders", help="orders in the simulated day"),
         seed: int = 7, shopify: bool = typer.Option(True, "--shopify/--no-shopify",
                                                     help="also connect a Shopify store emulator"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a demo store and run a day of its orders through the real pipeline (embedded PostgreSQL), then connect
    a Shopify store (the emulator) whose webhooks get lost on the way."""
    from backroom.demo.run import DEMO_STORE, run_demo

    progress = None if as_json else lambda m: console.print(f"[dim]• {m}[/]")
    settings = Settings()
    result = run_demo(settings, orders=orders_count, seed=seed, progress=progress)
    shop = _shopify_demo(seed, progress) if shopify else None
    s = result.summary
    if as_json:
        print_json({**s, "emails_caught": result.emails_caught, "wall_s": round(result.wall_s, 2),
                    "replenishment": result.replenishment, "support": result.support,
                    "shopify": dataclasses.asdict(shop) if shop else None})
        return
    console.print(f"\n[bold]backroom demo[/] — store '{DEMO_STORE}', one simulated day ({result.day}), "
                  f"{result.wall_s:.1f} s wall time\n")
    console.print(f"orders imported      {s['orders_imported']}  (from {s['inputs_received']} distinct inputs; "
                  "repeated deliveries were no-ops)")
    console.print(f"touchless            {s['touchless_orders']}  ({s['touchless_share']:.0%} reached the warehouse "
                  "with no human touch)")
    console.print(f"decisions recorded   {s['decisions_recorded']}   negative stock rows: {s['negative_stock_rows']}")
    print_status_and_exceptions(s)
    print_table("Effects", [{"effect": k, "count": v} for k, v in s["effects_by_status"].items()],
                ["effect", "count"])
    print_table("Rules (backroom rules list --store demo)", s["rules"],
                ["name", "mode", "then", "fired_live", "fired_shadow"])
    r = result.replenishment
    if r:
        console.print(f"\n[bold]Replenishment[/] (the worker's nightly plan at 02:00): {r['skus']} SKUs planned, "
                      f"{r['to_order']} to order, {r['stockout_expected']} expected to run out")
        for po in r["purchase_orders"]:
            console.print(f"  {po['number']} ({po['supplier']}): {po['lines']} lines, {po['units']} units, "
                          f"{po['total']} {po['currency']} — {po['status']}, waiting for approval in the review queue")
        for code, days in r["waiting"].items():
            console.print(f"  {code} takes orders on {days} only: its SKUs are ordered on its next order day")
        console.print("  see why: [bold]backroom replenish plan --dry-run --store demo[/]; approve: [bold]backroom "
                      "replenish po approve NUMBER --store demo[/]")
    if result.support:
        st = result.support["stats"]
        console.print(f"\n[bold]Support agent[/]: {st['conversations']} conversations, {st['automated']} resolved "
                      f"without a person, {st['handed_over']} handed over "
                      f"({', '.join(f'{k} {v}' for k, v in st['handover_reasons'].items())})")
        for x in result.support["exchanges"]:
            console.print(f"  [dim]customer:[/] {escape(x['customer'])}")
            done = "".join(f" [green]{escape('[' + a['action'] + ' ' + a['order'] + ']')}[/]" for a in x["actions"])
            console.print(f"  [dim]agent:[/]    {escape(x['agent'])}{done}"
                          + (f" [yellow](handed over: {x['handover']})[/]" if x["handover"] else ""))
        console.print("  conversations: [bold]backroom support list --store demo[/]; handovers wait in the review "
                      "queue")
    console.print(f"\n{result.emails_caught} customer emails were delivered over SMTP to a local mailbox "
                  f"({_shown(settings.home / 'demo-mail')}); fulfillment requests are CSV files in "
                  f"{_shown(settings.home / 'warehouse' / 'outbox')}.")
    if shop is not None:
        console.print(f"\n[bold]Shopify[/] (store emulator → store 'demo-shopify'): {shop.placed} orders placed; "
                      f"{shop.webhooks_sent} webhooks sent ({shop.duplicates} twice, {shop.late} late), "
                      f"{shop.lost} lost on the way")
        console.print(f"  arrived by webhook {shop.by_webhook}, found by the reconciliation poll {shop.found_by_poll}, "
                      f"in backroom {shop.in_backroom} (each once)")
        if shop.alert:
            console.print(f"  alert: {shop.alert}")
        console.print(f"  shipped by backroom's warehouse {shop.shipped}; fulfillments created in Shopify with "
                      f"tracking {shop.fulfillments_in_shop} (one each)")
    console.print("Look around: [bold]backroom orders list --store demo[/], [bold]backroom review list "
                  "--store demo[/], [bold]backroom orders show ID --store demo[/]")


def _shopify_demo(seed: int, progress: Any) -> Any:
    from backroom.demo.shopify import run_shopify_demo
    from backroom.entrypoints.api.server import serve_in_thread

    return run_shopify_demo(Settings(), serve_in_thread, seed=seed, progress=progress)


@app.command()
def worker(once: bool = typer.Option(False, help="run what is due now, then exit")) -> None:
    """Run effect jobs (any number of workers, on any machine, against one database)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with backroom_app() as br:
        if once:
            br.drain()
            return
        asyncio.run(br.run_worker())


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          with_worker: bool = typer.Option(True, "--worker/--no-worker", help="run a worker in-process"),
          processes: int = typer.Option(1, "--processes", min=1,
                                        help="API processes on the port (2 on 2 cores for webhook bursts; then "
                                             "run `backroom worker` beside them for effects)")) -> None:
    """The HTTP API (OpenAPI at /docs) plus, by default, an in-process worker. With --processes N, N processes
    answer requests and this one imports what they record (see docs/operations.md)."""
    console.print(f"backroom API on http://{host}:{port}  (OpenAPI: /docs; token: see docs/operations.md)")
    if processes > 1:
        from backroom.entrypoints.api.processes import serve as serve_processes

        serve_processes(host, port, processes)
        return
    import uvicorn

    from backroom.entrypoints.api.app import create_app, quiet_collector

    with backroom_app() as br:
        api = create_app(br, with_worker=with_worker)
        quiet_collector()
        uvicorn.run(api, host=host, port=port, log_level="info")


@app.command()
def migrate() -> None:
    """Apply database migrations (also done automatically at start)."""
    with backroom_app() as br:
        console.print(f"schema up to date on {br.engine.url.render_as_string(hide_password=True)}")


@app.command()
def automation(name: str = typer.Argument(..., help="fulfillment or customer_emails"),
               mode: str = typer.Argument(None, help="live, shadow or off (omit to show)"),
               store: str = typer.Option(None, "--store"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Show or set an automation's mode: shadow decides and records 'would have done X' but does nothing."""
    from backroom.adapters.db import queries
    from backroom.adapters.db.uow import automation_modes

    with backroom_app() as br:
        store_id = br.store_id(store)
        if mode:
            if mode not in ("live", "shadow", "off"):
                raise typer.BadParameter("mode must be live, shadow or off")
            queries.set_automation_mode(br.engine, store_id, name, mode)
        with br.engine.connect() as conn:
            modes = automation_modes(conn, store_id)
    rows = [{"automation": a, "mode": modes.get(a, "live")} for a in sorted({"fulfillment", "customer_emails", name})]
    print_rows("Automations", rows, ["automation", "mode"], as_json)


def main() -> None:
    app()
