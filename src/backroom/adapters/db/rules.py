"""Rules in the database: one row per rule (mode, position, current version), one row per version (the
definition as saved), firings in the audit trail (``decisions`` with ``policy = 'rule:<name>'``), and the events
with the contexts they were evaluated on (for dry runs)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update

from backroom.adapters.db import tables as t
from backroom.errors import NotFound
from backroom.rules.dryrun import DryRunReport, StoredEvent, dry_run
from backroom.rules.engine import compile_stored
from backroom.rules.model import RuleDefinition, RuleMode, compile_all
from backroom.rules.ports import StoredRule, StoreRuleState

if TYPE_CHECKING:
    from backroom.adapters.db.uow import SqlUnitOfWork


class SqlRuleRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def state(self) -> StoreRuleState:
        s = t.stores
        row = self.uow.conn.execute(
            select(s.c.rules_revision, s.c.timezone).where(s.c.id == self.uow.store_id)
        ).one()
        return StoreRuleState(int(row.rules_revision), row.timezone)

    def active(self) -> list[StoredRule]:
        return load_rules(self.uow.conn, self.uow.store_id, modes=(RuleMode.LIVE, RuleMode.SHADOW))

    def firings(self, policy: str, subject: str | None, since: datetime | None) -> int:
        d = t.decisions
        # two transactions firing the same limited rule take turns, so both cannot see "one left" and both fire
        self.uow.conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                              {"k": f"rule-limit:{self.uow.store_id}:{policy}"})
        query = select(func.count()).where(
            d.c.store_id == self.uow.store_id, d.c.policy == policy, ~d.c.outcome.has_key("error"))
        if subject is not None:
            query = query.where(d.c.outcome["subject"].astext == subject)
        if since is not None:
            query = query.where(d.c.at > since)  # the window is (at - window, at], as in a dry run
        return int(self.uow.conn.execute(query).scalar_one())


def load_rules(conn: Connection, store_id: int, modes: Sequence[str] = tuple(RuleMode)) -> list[StoredRule]:
    r, v = t.rules, t.rule_versions
    rows = conn.execute(
        select(r.c.name, r.c.mode, r.c.position, v.c.version, v.c.definition)
        .join(v, (v.c.rule_id == r.c.id) & (v.c.version == r.c.current_version))
        .where(r.c.store_id == store_id, r.c.mode.in_(list(modes)))
        .order_by(r.c.position, r.c.name)
    )
    return [StoredRule(row.name, row.version, row.mode, row.position, row.definition) for row in rows]


@dataclass(frozen=True)
class SaveResult:
    name: str
    version: int
    change: str  # created | new version | mode changed | unchanged


def save_rules(engine: Engine, store_id: int, definitions: Sequence[RuleDefinition], actor: str,
               now: datetime) -> list[SaveResult]:
    """Check every definition (nothing is saved if one is invalid), then save them: they run in the order given, a
    changed definition becomes a new version, an unchanged one keeps its version. Rules not in the list are left
    as they are, position included (switch one off with ``set_rule_mode``)."""
    compile_all(definitions)
    r, v = t.rules, t.rule_versions
    results: list[SaveResult] = []
    with engine.begin() as conn:
        _bump_revision(conn, store_id)  # also serialises concurrent saves of one store
        positions = _positions(conn, store_id, [d.name for d in definitions])
        for defn in definitions:
            position = positions[defn.name]
            canonical = defn.canonical()
            row = conn.execute(
                select(r.c.id, r.c.mode, r.c.current_version, v.c.definition)
                .join(v, (v.c.rule_id == r.c.id) & (v.c.version == r.c.current_version))
                .where(r.c.store_id == store_id, r.c.name == defn.name)
            ).first()
            if row is None:
                rule_id = conn.execute(insert(r).values(
                    store_id=store_id, name=defn.name, mode=defn.mode.value, position=position,
                    current_version=1, created_at=now, updated_at=now).returning(r.c.id)).scalar_one()
                conn.execute(insert(v).values(rule_id=rule_id, version=1, definition=canonical, created_by=actor,
                                              created_at=now))
                results.append(SaveResult(defn.name, 1, "created"))
                continue
            version, change = row.current_version, "unchanged"
            if row.definition != canonical:
                version += 1
                conn.execute(insert(v).values(rule_id=row.id, version=version, definition=canonical,
                                              created_by=actor, created_at=now))
                change = "new version"
            elif row.mode != defn.mode.value:
                change = "mode changed"
            conn.execute(update(r).where(r.c.id == row.id).values(
                current_version=version, mode=defn.mode.value, position=position, updated_at=now))
            results.append(SaveResult(defn.name, version, change))
    return results


def _positions(conn: Connection, store_id: int, names: list[str]) -> dict[str, int]:
    """Where each saved rule runs. A file of several rules sets their order: they run first, in file order, and
    the store's other rules follow in their own order. One rule saved alone keeps its place (a new one goes last)."""
    r = t.rules
    current: dict[str, int] = {row.name: row.position for row in conn.execute(
        select(r.c.name, r.c.position).where(r.c.store_id == store_id))}
    if len(names) == 1:
        name = names[0]
        return {name: current.get(name, max(current.values(), default=0) + 10)}
    others = sorted((p, n) for n, p in current.items() if n not in names)
    for i, (_, name) in enumerate(others, len(names) + 1):
        conn.execute(update(r).where(r.c.store_id == store_id, r.c.name == name).values(position=i * 10))
    return {name: i * 10 for i, name in enumerate(names, 1)}


def set_rule_mode(engine: Engine, store_id: int, name: str, mode: RuleMode, now: datetime) -> None:
    r = t.rules
    with engine.begin() as conn:
        updated = conn.execute(
            update(r).where(r.c.store_id == store_id, r.c.name == name).values(mode=mode.value, updated_at=now)
            .returning(r.c.id)
        ).first()
        if updated is None:
            raise NotFound(f"no rule named {name!r}", code="rule_not_found")
        _bump_revision(conn, store_id)


def list_rules(engine: Engine, store_id: int, since: datetime | None = None) -> list[dict[str, Any]]:
    """Every rule with its mode, version, trigger and how often it fired (live and shadow) since ``since``."""
    d = t.decisions
    with engine.connect() as conn:
        stored = load_rules(conn, store_id)
        query = select(d.c.policy, d.c.shadow, func.count()).where(
            d.c.store_id == store_id, d.c.policy.like("rule:%"), ~d.c.outcome.has_key("error"))
        if since is not None:
            query = query.where(d.c.at >= since)
        counts = {(row[0], row[1]): int(row[2]) for row in conn.execute(query.group_by(d.c.policy, d.c.shadow))}
    return [{"name": s.name, "mode": s.mode, "version": s.version, "position": s.position,
             "when": s.definition["when"], "if": s.definition["if"],
             "then": [a["action"] for a in s.definition["then"]],
             "fired_live": counts.get((f"rule:{s.name}", False), 0),
             "fired_shadow": counts.get((f"rule:{s.name}", True), 0)} for s in stored]


def dry_run_rules(engine: Engine, store_id: int, definitions: Sequence[RuleDefinition] | None, since: datetime | None,
               until: datetime | None = None) -> DryRunReport:
    """Dry-run a rule set (or, with None, the store's saved rules) over the store's recorded events."""
    if definitions is None:
        with engine.connect() as conn:
            rules = compile_stored(load_rules(conn, store_id))
    else:
        rules = compile_all(definitions)
    return dry_run(rules, iter_events(engine, store_id, since, until))


def rule_detail(engine: Engine, store_id: int, name: str) -> dict[str, Any]:
    r, v = t.rules, t.rule_versions
    with engine.connect() as conn:
        row = conn.execute(select(r).where(r.c.store_id == store_id, r.c.name == name)).first()
        if row is None:
            raise NotFound(f"no rule named {name!r}", code="rule_not_found")
        versions = conn.execute(
            select(v.c.version, v.c.definition, v.c.created_by, v.c.created_at)
            .where(v.c.rule_id == row.id).order_by(v.c.version.desc())
        ).all()
    return {
        "name": row.name, "mode": row.mode, "position": row.position, "version": row.current_version,
        "updated_at": row.updated_at.isoformat(),
        "definition": next(x.definition for x in versions if x.version == row.current_version),
        "versions": [{"version": x.version, "created_by": x.created_by, "created_at": x.created_at.isoformat(),
                      "definition": x.definition} for x in versions],
    }


def rule_history(engine: Engine, store_id: int, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """The rule's firings, newest first: version, trigger, subject, the inputs it saw, what it did."""
    d, r = t.decisions, t.rules
    with engine.connect() as conn:
        if conn.execute(select(r.c.id).where(r.c.store_id == store_id, r.c.name == name)).first() is None:
            raise NotFound(f"no rule named {name!r}", code="rule_not_found")
        rows = conn.execute(
            select(d.c.id, d.c.at, d.c.trigger, d.c.policy_version, d.c.subject_type, d.c.subject_id, d.c.inputs,
                   d.c.outcome, d.c.shadow)
            .where(d.c.store_id == store_id, d.c.policy == f"rule:{name}")
            .order_by(d.c.id.desc()).limit(limit)
        ).all()
    return [{"id": row.id, "at": row.at.isoformat(), "version": int(row.policy_version), "trigger": row.trigger,
             "subject": row.outcome.get("subject") or f"{row.subject_type}:{row.subject_id}",
             "mode": "shadow" if row.shadow else "live", "inputs": row.inputs, "outcome": row.outcome}
            for row in rows]


def iter_events(engine: Engine, store_id: int, since: datetime | None, until: datetime | None = None,
                batch: int = 5000) -> Iterator[StoredEvent]:
    """Recorded events with their contexts, oldest first, streamed in keyset pages."""
    e = t.events
    last_id = 0
    while True:
        query = select(e.c.id, e.c.name, e.c.at, e.c.subject_type, e.c.subject_id, e.c.context).where(
            e.c.store_id == store_id, e.c.id > last_id, e.c.context.is_not(None))
        if since is not None:
            query = query.where(e.c.at >= since)
        if until is not None:
            query = query.where(e.c.at < until)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(e.c.id).limit(batch)).all()
        for row in rows:
            yield StoredEvent(row.id, row.name, row.at, row.subject_type, row.subject_id, row.context)
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def _bump_revision(conn: Connection, store_id: int) -> None:
    s = t.stores
    conn.execute(update(s).where(s.c.id == store_id).values(rules_revision=s.c.rules_revision + 1))
