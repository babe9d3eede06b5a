"""`backroom suppliers …` and `backroom replenish …` as a person types them, against a real database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from backroom.adapters.db import catalog_admin
from backroom.adapters.db.engine import make_engine
from backroom.adapters.db.migrate import ensure_store, upgrade
from backroom.entrypoints.cli.main import app as root

pytestmark = pytest.mark.integration
Cli = Callable[..., Result]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    engine = make_engine(database_url)
    upgrade(engine)
    store_id = ensure_store(engine, "default")
    main = catalog_admin.upsert_location(engine, store_id, "MAIN", "Main", priority=10)
    catalog_admin.upsert_product(engine, store_id, "mug", "Mug", [catalog_admin.VariantSpec("MUG", "Blue", 9)])
    catalog_admin.set_opening_stock(engine, store_id, [("MUG", main, 0)])
    engine.dispose()
    env = {"BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(tmp_path), "COLUMNS": "200"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(root, list(args), env=env)

    return invoke


def test_suppliers_plan_approve_and_receive_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    added = cli("suppliers", "add", "acme", "--name", "Acme Mugs", "--email", "orders@acme.example",
                "--lead-time", "7", "--moq", "12", "--multiple", "6")
    assert added.exit_code == 0, added.output
    assert added.output == "supplier ACME: 7 ± 0 days, MOQ 12, multiple 6, orders on any\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,supplier,unit_cost\nMUG,ACME,2.5\nMUG,ACME,two\nTEA,ACME,-1\n")
    refused = cli("suppliers", "import", str(bad))
    assert refused.exit_code == 5
    assert "line 3: unit_cost, moq, pack_multiple and lead_time_days must be numbers; line 4: TEA: unit cost must " \
           "be ≥ 0" in " ".join(refused.output.split())
    good = tmp_path / "items.csv"
    good.write_text("sku,supplier,unit_cost,supplier_sku\nMUG,acme,2.5,AC-1\n")
    assert cli("suppliers", "import", str(good)).output == "1 SKUs assigned\n"
    [supplier] = json.loads(cli("suppliers", "list", "--json").output)
    assert (supplier["code"], supplier["skus"], supplier["order_days"]) == ("ACME", 1, "any")

    plan = json.loads(cli("replenish", "plan", "--json").output)
    assert (plan["summary"]["to_order"], plan["skus"][0]["sku"], plan["skus"][0]["order"]) == (0, "MUG", 0)
    assert plan["purchase_orders"] == {}  # nothing sold, nothing waiting: nothing to order

    bad_day = cli("replenish", "plan", "--day", "2001-01-01")
    assert bad_day.exit_code == 5
    assert "plan_day_not_today" in bad_day.output
    assert cli("replenish", "po", "approve", "PO-NOPE-1").exit_code == 3
    assert cli("replenish", "po", "receive", "PO-NOPE-1", "--location", "MAIN", "--line", "MUG").exit_code == 2
