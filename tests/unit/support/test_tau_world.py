"""The τ-bench retail world loaded from the shared data: orders, products, users derived from orders, tasks."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.support.entities import extract
from backroom.support.tau import (
    TauAddress,
    TauOrder,
    TauPayment,
    TauWorld,
    derive_users,
    load_world,
    name_from_user_id,
)


@pytest.fixture(scope="module")
def tau_root(shared_data: Path) -> Path:
    return shared_data / "support" / "tau_bench_retail"


@pytest.fixture(scope="module")
def world(tau_root: Path) -> TauWorld:
    return load_world(tau_root, users=False)  # as without users.json: users derived from the orders


def test_names_come_from_the_user_id() -> None:
    assert name_from_user_id("olivia_ito_3591") == ("Olivia", "Ito")
    assert name_from_user_id("ana_de_la_cruz_12") == ("Ana", "De La Cruz")
    assert name_from_user_id("mononym") == ("Mononym", "")


def test_users_are_derived_from_their_orders() -> None:
    home = TauAddress("1 Elm St", "", "Denver", "CO", "USA", "80218")
    work = TauAddress("9 Oak Ave", "Suite 2", "Austin", "TX", "USA", "78701")
    orders = [
        TauOrder("#W1", "olivia_ito_3591", home, (), (), "pending",
                 (TauPayment("payment", Decimal("10.00"), "paypal_1"),)),
        TauOrder("#W2", "olivia_ito_3591", work, (), (), "delivered",
                 (TauPayment("payment", Decimal("5.00"), "gift_card_2"),
                  TauPayment("refund", Decimal("5.00"), "gift_card_2"))),
        TauOrder("#W3", "olivia_ito_3591", home, (), (), "cancelled", ()),
    ]
    users = derive_users(orders)
    assert list(users) == ["olivia_ito_3591"]
    olivia = users["olivia_ito_3591"]
    assert (olivia.name, olivia.zips, olivia.order_ids) == ("Olivia Ito", ("80218", "78701"), ("#W1", "#W2", "#W3"))
    assert olivia.addresses == (home, work)
    assert olivia.payment_method_ids == ("paypal_1", "gift_card_2")
    assert olivia.email is None


def test_the_world_has_its_orders_products_users_and_tasks(world: TauWorld) -> None:
    assert len(world.orders) == 1000
    assert len(world.products) == 50
    assert sum(len(p.variants) for p in world.products.values()) == 591
    assert len(world.users) == 438  # distinct user ids among the orders
    assert len(world.tasks) == 635
    assert [sum(1 for t in world.tasks if t.split == s) for s in ("dev", "test", "train")] == [20, 115, 500]
    statuses = sorted({o.status for o in world.orders.values()})
    assert statuses == ["cancelled", "delivered", "pending", "processed"]
    assert sum(1 for o in world.orders.values() if o.status == "pending") == 423


def test_an_order_as_the_data_has_it(world: TauWorld) -> None:
    order = world.orders["#W2611340"]
    assert order.user_id == "james_li_5688"
    assert order.address == TauAddress("215 River Road", "Suite 991", "New York", "NY", "USA", "10083")
    assert [(i.name, i.item_id, i.price) for i in order.items] == [
        ("Water Bottle", "6469567736", Decimal("47.84")), ("Office Chair", "8426249116", Decimal("488.81"))]
    assert order.items[0].options == {"capacity": "1000ml", "material": "glass", "color": "blue"}
    assert order.tracking_ids == ("357962501027",)
    assert order.fulfillments[0].item_ids == ("6469567736", "8426249116")
    assert order.status == "processed"
    assert order.payment_history == (TauPayment("payment", Decimal("536.65"), "gift_card_1725971"),)
    product = world.product_of_item("6469567736")
    assert product is not None
    assert product.name == "Water Bottle"
    assert product.variants["6469567736"].price == Decimal("47.84")


def test_users_authenticate_by_name_and_zip(world: TauWorld) -> None:
    olivia = world.find_user_by_name_zip("olivia", "ITO", "80218")
    assert olivia is not None
    assert olivia.id == "olivia_ito_3591"
    assert olivia.email is None  # unknown without users.json
    assert world.find_user_by_name_zip("Olivia", "Ito", "10001") is None
    assert [o.id for o in world.orders_of("olivia_ito_3591")] == list(olivia.order_ids)
    assert "#W5442520" in olivia.order_ids


def test_tasks_carry_the_gold_actions(world: TauWorld) -> None:
    task = next(t for t in world.tasks if t.split == "dev" and t.index == 0)
    assert task.user_id == "olivia_ito_3591"
    assert task.instruction.startswith("Your name is Olivia Ito and your zip code is 80218.")
    assert [(a.name, dict(a.kwargs)) for a in task.actions] == [
        ("cancel_pending_order", {"order_id": "#W5442520", "reason": "no longer needed"})]
    assert task.writes == task.actions
    assert all(t.user_id in world.users for t in world.tasks)


def test_the_derived_users_authenticate_the_tasks_from_what_the_customer_says(world: TauWorld) -> None:
    """Name from the task's user, zip as the extractor reads it from the instruction."""
    with_zip = authenticated = 0
    for task in world.tasks:
        zips = extract(task.instruction, today=date(2026, 11, 27)).postal_codes
        if not zips:
            continue
        with_zip += 1
        user = world.users[task.user_id]
        authenticated += any(world.find_user_by_name_zip(user.first_name, user.last_name, z) == user for z in zips)
    # 13 users gave the zip of a default address that none of their orders was shipped to
    assert (with_zip, authenticated) == (360, 346)


def test_users_json_when_present_adds_emails_and_users_without_orders(tau_root: Path) -> None:
    if not (tau_root / "users.json").exists():
        pytest.skip("users.json is not in this copy of the shared data")
    world = load_world(tau_root)
    assert len(world.users) == 500
    olivia = world.users["olivia_ito_3591"]
    assert olivia.email == "olivia.ito5204@example.com"
    assert world.find_user_by_email("Olivia.Ito5204@example.com") == olivia
    assert sum(1 for u in world.users.values() if not u.order_ids) == 62  # users.json's users who never ordered
    assert olivia.zips[0] == "80218"  # the default address first


def test_loading_takes_under_a_second(tau_root: Path) -> None:
    started = time.perf_counter()
    load_world(tau_root)
    assert time.perf_counter() - started < 1.0  # measured ≈ 0.05 s


def test_a_missing_folder_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="BACKROOM_SHARED_DATA"):
        load_world(tmp_path)
