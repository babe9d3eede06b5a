"""The τ-bench retail world (sierra-research/tau-bench, MIT), read at run time from the shared data.

Folder: ``$BACKROOM_SHARED_DATA/support/tau_bench_retail/`` (default ``../shared/data``): ``orders.json``,
``products.json``, ``tasks_{dev,test,train}.json`` and, where present, ``users.json``. Nothing of it is copied into
the repository.

Users are derived from the orders, so the loader works without ``users.json``: the id ``olivia_ito_3591`` gives the
name "Olivia Ito"; zip codes and addresses are those the user's orders were shipped to, and payment methods those
the orders were paid or refunded with; the email is unknown (None). When ``users.json`` is there (``users=True``,
the default), each user also gets the email, default address and payment methods it holds, and users without any
order are added. Money is read as ``Decimal`` (JSON floats parsed as decimals), never as float.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "TauAction",
    "TauAddress",
    "TauFulfillment",
    "TauItem",
    "TauOrder",
    "TauPayment",
    "TauProduct",
    "TauTask",
    "TauUser",
    "TauVariant",
    "TauWorld",
    "default_root",
    "derive_users",
    "load_world",
    "name_from_user_id",
]

TASK_SPLITS = ("dev", "test", "train")


@dataclass(frozen=True, slots=True)
class TauAddress:
    address1: str
    address2: str
    city: str
    state: str
    country: str
    zip: str


@dataclass(frozen=True, slots=True)
class TauItem:
    name: str
    product_id: str
    item_id: str
    price: Decimal
    options: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class TauFulfillment:
    tracking_ids: tuple[str, ...]
    item_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TauPayment:
    transaction_type: str  # "payment" | "refund"
    amount: Decimal
    payment_method_id: str  # "credit_card_…", "paypal_…", "gift_card_…"


@dataclass(frozen=True, slots=True)
class TauOrder:
    id: str  # "#W2611340"
    user_id: str
    address: TauAddress
    items: tuple[TauItem, ...]
    fulfillments: tuple[TauFulfillment, ...]
    status: str  # "pending" | "processed" | "delivered" | "cancelled" (the tools add "… requested" states)
    payment_history: tuple[TauPayment, ...]

    @property
    def tracking_ids(self) -> tuple[str, ...]:
        return tuple(t for f in self.fulfillments for t in f.tracking_ids)


@dataclass(frozen=True, slots=True)
class TauVariant:
    item_id: str
    options: Mapping[str, str]
    available: bool
    price: Decimal


@dataclass(frozen=True, slots=True)
class TauProduct:
    id: str
    name: str
    variants: Mapping[str, TauVariant]  # by item id

    @property
    def available_variants(self) -> tuple[TauVariant, ...]:
        return tuple(v for v in self.variants.values() if v.available)


@dataclass(frozen=True, slots=True)
class TauUser:
    id: str
    first_name: str
    last_name: str
    zips: tuple[str, ...]  # default address's zip first (when users.json says it), then the orders' in order
    addresses: tuple[TauAddress, ...]
    order_ids: tuple[str, ...]
    payment_method_ids: tuple[str, ...]
    email: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class TauAction:
    name: str  # a τ-bench tool: "cancel_pending_order", "find_user_id_by_name_zip", …
    kwargs: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TauTask:
    split: str  # "dev" | "test" | "train"
    index: int  # position in its split's file
    user_id: str
    instruction: str
    actions: tuple[TauAction, ...]  # the gold tool calls
    outputs: tuple[str, ...]  # what the agent must say, where the task checks it

    @property
    def writes(self) -> tuple[TauAction, ...]:
        """The gold actions that change the world (cancel, modify, return, exchange …), not the look-ups."""
        return tuple(a for a in self.actions if not a.name.startswith(("get_", "find_", "list_", "calculate",
                                                                           "think", "transfer")))


@dataclass(frozen=True)
class TauWorld:
    orders: Mapping[str, TauOrder]
    products: Mapping[str, TauProduct]
    users: Mapping[str, TauUser]
    tasks: tuple[TauTask, ...]
    _by_item: Mapping[str, str] = field(default_factory=dict, repr=False)

    def find_user_by_name_zip(self, first_name: str, last_name: str, zip_code: str) -> TauUser | None:
        first, last, code = first_name.strip().lower(), last_name.strip().lower(), zip_code.strip()
        for user in self.users.values():
            if user.first_name.lower() == first and user.last_name.lower() == last and code in user.zips:
                return user
        return None

    def find_user_by_email(self, email: str) -> TauUser | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email and u.email.lower() == wanted), None)

    def orders_of(self, user_id: str) -> tuple[TauOrder, ...]:
        user = self.users.get(user_id)
        return tuple(self.orders[o] for o in user.order_ids if o in self.orders) if user else ()

    def product_of_item(self, item_id: str) -> TauProduct | None:
        product_id = self._by_item.get(item_id)
        return self.products.get(product_id) if product_id else None


# ---------------------------------------------------------------------------------------------------- parsing


def default_root() -> Path:
    return Path(os.environ.get("BACKROOM_SHARED_DATA", "../shared/data")) / "support" / "tau_bench_retail"


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _options(raw: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()}


def _address(raw: Mapping[str, Any]) -> TauAddress:
    return TauAddress(str(raw.get("address1", "")), str(raw.get("address2", "")), str(raw.get("city", "")),
                      str(raw.get("state", "")), str(raw.get("country", "")), str(raw.get("zip", "")))


def _order(raw: Mapping[str, Any]) -> TauOrder:
    return TauOrder(
        id=raw["order_id"],
        user_id=raw["user_id"],
        address=_address(raw["address"]),
        items=tuple(TauItem(i["name"], i["product_id"], i["item_id"], _money(i["price"]), _options(i["options"]))
                    for i in raw["items"]),
        fulfillments=tuple(TauFulfillment(tuple(f["tracking_id"]), tuple(f["item_ids"]))
                           for f in raw["fulfillments"]),
        status=raw["status"],
        payment_history=tuple(TauPayment(p["transaction_type"], _money(p["amount"]), p["payment_method_id"])
                              for p in raw["payment_history"]),
    )


def _product(raw: Mapping[str, Any]) -> TauProduct:
    return TauProduct(raw["product_id"], raw["name"], {
        item_id: TauVariant(v["item_id"], _options(v["options"]), bool(v["available"]), _money(v["price"]))
        for item_id, v in raw["variants"].items()})


def name_from_user_id(user_id: str) -> tuple[str, str]:
    """``olivia_ito_3591`` → ("Olivia", "Ito"); a multi-part surname keeps its parts (``a_de_la_cruz_1`` →
    ("A", "De La Cruz"))."""
    parts = user_id.split("_")
    if len(parts) > 1 and parts[-1].isdigit():
        parts = parts[:-1]
    words = [p.capitalize() for p in parts if p]
    if not words:
        return user_id, ""
    return words[0], " ".join(words[1:])


def derive_users(orders: Iterable[TauOrder]) -> dict[str, TauUser]:
    """Users as the orders show them: name from the id, zips and addresses shipped to, payment methods used."""
    grouped: dict[str, list[TauOrder]] = {}
    for order in orders:
        grouped.setdefault(order.user_id, []).append(order)
    users: dict[str, TauUser] = {}
    for user_id, own in grouped.items():
        first, last = name_from_user_id(user_id)
        users[user_id] = TauUser(
            id=user_id, first_name=first, last_name=last,
            zips=tuple(dict.fromkeys(o.address.zip for o in own)),
            addresses=tuple(dict.fromkeys(o.address for o in own)),
            order_ids=tuple(o.id for o in own),
            payment_method_ids=tuple(dict.fromkeys(p.payment_method_id for o in own for p in o.payment_history)),
        )
    return users


def _merge_users(derived: dict[str, TauUser], raw_users: Mapping[str, Any]) -> dict[str, TauUser]:
    merged = dict(derived)
    for user_id, raw in raw_users.items():
        known = derived.get(user_id)
        address = _address(raw.get("address", {}))
        name = raw.get("name", {})
        first, last = name_from_user_id(user_id)
        order_ids = tuple(dict.fromkeys([*raw.get("orders", ()), *(known.order_ids if known else ())]))
        merged[user_id] = TauUser(
            id=user_id,
            first_name=str(name.get("first_name") or first),
            last_name=str(name.get("last_name") or last),
            zips=tuple(dict.fromkeys([address.zip, *(known.zips if known else ())])),
            addresses=tuple(dict.fromkeys([address, *(known.addresses if known else ())])),
            order_ids=order_ids,
            payment_method_ids=tuple(dict.fromkeys([*raw.get("payment_methods", {}),
                                                    *(known.payment_method_ids if known else ())])),
            email=raw.get("email"),
        )
    return merged


def _tasks(root: Path) -> list[TauTask]:
    tasks: list[TauTask] = []
    for split in TASK_SPLITS:
        path = root / f"tasks_{split}.json"
        if not path.exists():
            continue
        for index, raw in enumerate(_read(path)):
            tasks.append(TauTask(
                split=split, index=index, user_id=raw["user_id"], instruction=raw["instruction"],
                actions=tuple(TauAction(a["name"], dict(a.get("kwargs", {}))) for a in raw.get("actions", ())),
                outputs=tuple(str(o) for o in raw.get("outputs", ())),
            ))
    return tasks


def load_world(root: str | Path | None = None, *, users: bool = True) -> TauWorld:
    """The whole world: 1,000 orders, 50 products, users, 635 tasks (≈ 0.1 s). ``users=False`` ignores
    ``users.json`` and derives users from the orders only (as without the file)."""
    folder = Path(root) if root is not None else default_root()
    if not (folder / "orders.json").exists():
        raise FileNotFoundError(f"τ-bench retail data not found in {folder} (set BACKROOM_SHARED_DATA)")
    orders = {o.id: o for o in map(_order, _read(folder / "orders.json").values())}
    products = {p.id: p for p in map(_product, _read(folder / "products.json").values())}
    people = derive_users(orders.values())
    users_file = folder / "users.json"
    if users and users_file.exists():
        people = _merge_users(people, _read(users_file))
    by_item = {item_id: p.id for p in products.values() for item_id in p.variants}
    return TauWorld(orders, products, people, tuple(_tasks(folder)), by_item)
