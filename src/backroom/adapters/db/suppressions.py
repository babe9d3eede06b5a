"""Email suppressions in PostgreSQL: addresses that hard-bounced, recorded from the SMTP reply (in the transaction
that fails the email's effect) or from a delivery status notification, listed and lifted by an operator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.adapters.db.bulk import driver
from backroom.adapters.queue.runner import Guard
from backroom.marketing.service import AUTOMATION as MARKETING_AUTOMATION
from backroom.service_layer.effects import AddressNotSupported, PermanentEffectError, RecipientRefused
from backroom.shared.addresses import unicode_address

HARD_BOUNCE = "hard_bounce"


def record_suppression(conn: Connection, store_id: int, email: str, *, reason: str, detail: str, source: str,
                       at: datetime) -> None:
    """Suppress an address; a later bounce of an address already suppressed refreshes what is known of it."""
    s = t.email_suppressions
    values = {"reason": reason, "detail": detail, "source": source, "at": at}
    conn.execute(pg_insert(s).values(store_id=store_id, email=email.lower(), **values)
                 .on_conflict_do_update(constraint="uq_email_suppressions_store_email", set_=values))


def suppress_refused_recipient(conn: Connection, row: Any, err: PermanentEffectError, now: datetime) -> bool:
    """The effect runner's hook for email (``on_permanent``): a hard bounce at SMTP time suppresses the address in
    the transaction that fails the effect. For a marketing email that settles it (True: no review item, the
    suppression list shows it); a transactional one (an order's confirmation) still goes to review, so that someone
    can reach the customer another way. A marketing email the mail server cannot carry (an address that needs
    SMTPUTF8) is settled too: it stays failed, without a review item for every such address."""
    marketing = bool(row.automation == MARKETING_AUTOMATION)
    if isinstance(err, AddressNotSupported):
        return marketing
    if not (isinstance(err, RecipientRefused) and err.hard_bounce):
        return False
    # suppressed as the store keeps it (ana@bücher.de, which the last look and the tick compare), not as it went on
    # the wire (ana@xn--bcher-kva.de)
    record_suppression(conn, int(row.store_id), unicode_address(err.recipient), reason=HARD_BOUNCE, detail=err.reply,
                       source="smtp", at=now)
    return marketing


# the last look's SQL, in the statement that claims the email (adapters/queue/runner.py Guard): the address is
# compared as Python's str.lower() has it; translate() lowers ASCII the same in every locale (lower() would follow
# the database's, Turkish I included), and any other address is looked at again from Python (RECHECK)
_TO = "translate(e.payload->>'to', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
RECHECK = "recheck"


def _held_sql(store: str, email: str) -> str:
    """Why marketing must not reach ``email`` now (``suppressed``, ``unsubscribed``), or NULL: one check, in the claim
    (over the effect's row) and in the look again from Python (with parameters)."""
    return (f"CASE WHEN EXISTS (SELECT 1 FROM email_suppressions s WHERE s.store_id = {store} AND s.email = {email})"
            f" THEN 'suppressed' WHEN EXISTS (SELECT 1 FROM customers c WHERE c.store_id = {store}"
            f" AND c.email = {email} AND c.marketing_consent = 'unsubscribed') THEN 'unsubscribed' END")


MARKETING_LOOK = (f"CASE WHEN e.automation <> '{MARKETING_AUTOMATION}' THEN NULL"
                  f" WHEN e.payload->>'to' !~ '^[ -~]*$' THEN '{RECHECK}' ELSE {_held_sql('e.store_id', _TO)} END")
_HELD = f"SELECT {_held_sql('%(store)s', '%(email)s')}".encode()
_UNSENT = delete(t.marketing_sends).where(t.marketing_sends.c.store_id == bindparam("store"),
                                          t.marketing_sends.c.message_key == bindparam("key"))


def marketing_held(conn: Connection, row: Any, look: str) -> str | None:
    """The effect runner's last look before a marketing email goes (``guards``, with MARKETING_LOOK): its address
    was suppressed, or its customer unsubscribed, since the tick asked for it (a retry can come hours later) → why
    it must not go. Its row in the send ledger goes with it, in the transaction that cancels the effect.
    Transactional mail is never held: it ignores marketing consent and is still attempted to a suppressed address."""
    held = _held_by_address(conn, row) if look == RECHECK else look
    if held is not None:  # it never went: out of the send ledger, so neither the cap nor attribution counts it
        conn.execute(_UNSENT, {"store": row.store_id, "key": row.key})
    return held


def _held_by_address(conn: Connection, row: Any) -> str | None:
    found = driver(conn).execute(_HELD, {"store": row.store_id,
                                         "email": str(row.payload.get("to", "")).lower()}).fetchone()
    return None if found is None else found[0]


MARKETING_GUARD = Guard(MARKETING_LOOK, marketing_held)


def as_known(conn: Connection, store_id: int, reported: str) -> str | None:
    """The address a bounce report names, in the form the store knows it (a report names an international domain in
    its IDNA form, ``ana@xn--bcher-kva.de``, the store keeps ``ana@bücher.de``); None when the store knows neither."""
    for email in dict.fromkeys((unicode_address(reported).lower(), reported.lower())):
        if known_address(conn, store_id, email):
            return email
    return None


def known_address(conn: Connection, store_id: int, email: str) -> bool:
    """Whether the store knows this address: a customer, a checkout's or an order's buyer, or a flow's enrollee.
    A bounce report is only believed for such an address (anyone can mail the support mailbox a forged one)."""
    c, k, o, m = t.customers, t.checkouts, t.orders, t.marketing_enrollments
    email = email.lower()
    found = union_all(
        select(literal(1)).where(c.c.store_id == store_id, c.c.email == email),
        select(literal(1)).where(m.c.store_id == store_id, m.c.email == email),
        select(literal(1)).where(k.c.store_id == store_id, func.lower(k.c.email) == email),
        select(literal(1)).where(o.c.store_id == store_id, func.lower(o.c.email) == email),
    ).limit(1)
    return conn.execute(found).first() is not None


def list_suppressions(engine: Engine, store_id: int, limit: int = 1000) -> list[dict[str, Any]]:
    s = t.email_suppressions
    with engine.connect() as conn:
        rows = conn.execute(select(s.c.email, s.c.reason, s.c.source, s.c.detail, s.c.at)
                            .where(s.c.store_id == store_id).order_by(s.c.at.desc(), s.c.id.desc()).limit(limit))
        return [{"email": r.email, "reason": r.reason, "source": r.source, "detail": r.detail,
                 "at": r.at.isoformat()} for r in rows]


def remove_suppression(engine: Engine, store_id: int, email: str, *, via: str, at: datetime) -> bool:
    """Lift a suppression (the address works again); False when it was not suppressed. A ``suppression_lifted``
    event keeps what was lifted, when and through what (``cli``, ``api``), in the same transaction."""
    s = t.email_suppressions
    with engine.begin() as conn:
        gone = conn.execute(delete(s).where(s.c.store_id == store_id, s.c.email == email.strip().lower())
                            .returning(s.c.id, s.c.email, s.c.reason, s.c.source, s.c.detail, s.c.at)).first()
        if gone is None:
            return False
        conn.execute(pg_insert(t.events).values(
            store_id=store_id, name="suppression_lifted", at=at, subject_type="email_suppression", subject_id=gone.id,
            data={"email": gone.email, "reason": gone.reason, "source": gone.source, "detail": gone.detail,
                  "suppressed_at": gone.at.isoformat(), "via": via}))
    return True
