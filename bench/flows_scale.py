"""Marketing flows at scale: N enrollments walking the shipped abandoned-checkout flow on a simulated clock, the
emails sent by the real effect worker to a real local SMTP server.

    python bench/flows_scale.py [--enrollments 100000] [--concurrency 4] [--database-url URL] [--profile FILE]
                                [--smtp HOST:PORT [--smtp-log FILE]] [--split-cores]

Starts a private embedded PostgreSQL in a temporary BACKROOM_HOME (or uses --database-url / BACKROOM_DATABASE_URL,
with a fresh store in it) and a local SMTP server in a child process (aiosmtpd, the same library as the project's
MailCatcher, offering PIPELINING as Postfix and the providers' relays do; it keeps only each message's Message-ID,
so it costs little next to the sender). With ``--smtp HOST:PORT`` the emails go to an SMTP server already running
instead, such as a local Postfix, which queues every message to disk before it answers: the bench counts each
Message-ID from its log (``--smtp-log``, Postfix's ``maillog_file``) and its CPU from its processes. docs/flows.md
("Measured") has the Postfix set-up the figures there came from.

``--split-cores`` puts the SMTP server on the last CPU alone and backroom and PostgreSQL on the others, as if they
were separate hosts (a relay is never on the shop's machine): with the CPUs shared, every figure is also a measure
of who took the other side's CPU.

Setup (not measured): N subscribed customers, N open checkouts (1-3 lines each) and N enrollments in the shipped
``abandoned_checkout`` flow (wait 1h → reminder → wait 23h → 10 % discount code → second reminder), built by the
domain's ``enroll`` and written in bulk through the repository's own JSON serialisation, all entering at 09:00.

Measured, separately:
- the ticks (``Backroom.advance_flows``: what a worker runs every minute) at 09:00 (every enrollment starts its
  wait), 10:00 (the wait ran out: the reminder is paced and asked for) and 09:00 the next day (the code is made and
  the second reminder asked for): ``steps_per_s`` = flow steps done (a wait run out, an email asked for, a discount
  made, a step skipped) per second of tick, and ``wakes_per_s`` = enrollments taken per second of tick;
- the drains (``Backroom.drain``: the procrastinate worker and the effect runner, one transaction per email, pooled
  SMTP sessions) after the 10:00 and the next day's tick: ``emails_per_s`` = emails accepted by the SMTP server per
  second of drain.

Then the SMTP server's own ceiling (``smtp_ceiling_per_s``): copies of a message backroom built, a fresh Message-ID
each, pushed at the same server over as many sessions (backroom's own ``SmtpSession``) by a sender doing nothing
else; ``drain_share_of_ceiling`` is ``emails_per_s`` over it (1.0: the SMTP server is the bottleneck).

Where the time goes: CPU seconds of this process, of the SMTP server and of PostgreSQL (its processes' /proc
counters, when it is the embedded server) in each phase and per email, statements per wake and per email (counted
at psycopg's cursor, so the statements hot paths send to psycopg directly count too), and the email executor's
time split between rendering the message and the rest of the call (the SMTP conversation, and the wait for the GIL
the worker's threads share).

Prints one ``name value`` line per figure and writes the same (plus machine info and checks) as JSON to
bench/results/flows_scale.json (or --out); the phases done so far are written there after each one, so a run stopped
early leaves its figures (``"complete": false``).

Time: on the 2-core development machine (shared, noisy) the default 100,000 takes about 10-25 min depending on the
machine's load (setup ~1-2 min, the three ticks, the two drains, the ceiling); ``--enrollments 2000`` about 15 s.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
from pydantic import SecretStr
from sqlalchemy import insert, text

from backroom.adapters.db import tables as t
from backroom.adapters.db.marketing import enrollment_json
from backroom.adapters.email.catcher import with_pipelining
from backroom.adapters.email.smtp import SmtpSender, SmtpSession
from backroom.bootstrap import Backroom, build, default_executors
from backroom.config import EffectSettings, MarketingConfig, Settings, SmtpSettings, WarehouseSettings, WorkerSettings
from backroom.demo.generator import FIRST, LAST
from backroom.marketing.enrollment import Enrollment, enroll
from backroom.marketing.service import TickResult
from backroom.shared.clock import SimulatedClock
from pipeline_throughput import ThreadProfiles, dump_profiles, scalar  # the pipeline bench's helpers
from pipeline_throughput import machine as pipeline_machine

RESULTS = Path(__file__).resolve().parent / "results" / "flows_scale.json"
FLOW = "abandoned_checkout"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in the store's zone (UTC): outside quiet hours
PRODUCTS = [("TEE-BLK-M", "Merino Crew Tee — M", "38.00"), ("SOCK-OAT", "Wool Socks", "12.00"),
            ("MUG-SAGE", "Stoneware Mug", "14.50"), ("THROW-SAND", "Wool Throw", "120.00"),
            ("BEANIE-INK", "Rib Beanie", "22.00"), ("CANDLE-01", "Beeswax Candle", "16.00")]
STEP_DONE = ("passed", "sent", "discount_created", "skipped")  # history entries that finish a flow step
CHUNK = 5000


# -- the SMTP server ------------------------------------------------------------------------------------------------

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class _Counter:
    """Accepts every message and keeps its Message-ID (the header is found in the raw bytes, not parsed)."""

    def __init__(self) -> None:
        self.ids: list[bytes] = []

    def answer(self, ask: Any) -> Any:
        raise ValueError(f"the mail server was asked {ask!r}")

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        return with_pipelining(session, hostname, responses)  # as Postfix and the providers' relays offer it

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        head = content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        self.ids.append(found.group(1) if found else b"")
        return "250 OK"


def _serve_mail(conn: Connection, handler_class: type[_Counter] = _Counter, cpus: set[int] | None = None) -> None:
    from aiosmtpd.controller import Controller

    if cpus:
        os.sched_setaffinity(0, cpus)  # before the server's thread starts: it inherits them

    from backroom.adapters.email.catcher import free_port

    handler = handler_class()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    conn.send(port)
    while True:
        ask = conn.recv()
        if ask not in ("stats", "stop"):  # a request of the handler's own (the replay bench's log)
            conn.send(handler.answer(ask))
            continue
        ids = list(handler.ids)
        conn.send({"received": len(ids), "unique": len(set(ids)), "cpu_s": time.process_time()})
        if ask == "stop":
            controller.stop()
            return


class MailServer:
    """The local SMTP server in a child process of its own: a real relay never shares the sender's process (and
    in-process, aiosmtpd would compete with the worker for the GIL)."""

    def __init__(self, handler_class: type[_Counter] = _Counter, cpus: set[int] | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_mail, args=(child, handler_class, cpus), daemon=True)
        self._proc.start()
        self.port = int(self._conn.recv())
        self.stopped: dict[str, Any] | None = None

    def stats(self) -> dict[str, Any]:
        if self.stopped is not None:
            return self.stopped
        self._conn.send("stats")
        return dict(self._conn.recv())

    def stop(self) -> dict[str, Any]:
        if self.stopped is None:
            self._conn.send("stop")
            self.stopped = dict(self._conn.recv())
            self._proc.join(10)
        return self.stopped


POSTFIX_PROCESSES = r"master|smtpd|cleanup|qmgr|trivial-rewrite|discard|postlogd|anvil|proxymap|pickup|tlsmgr|scache"
_POSTFIX_MESSAGE_ID = re.compile(rb"postfix/cleanup\[\d+\]: \w+: message-id=(\S+)")


class ExternalServer:
    """An SMTP server already running on this machine (``--smtp HOST:PORT``), e.g. Postfix, which writes each
    message to its queue (and syncs it) before it answers. What it received is read from its log (``--smtp-log``:
    Postfix's ``maillog_file``, the ``message-id=`` line cleanup writes for every message); its CPU is that of the
    live processes whose name matches ``--smtp-processes`` (Postfix's daemons by default)."""

    def __init__(self, address: str, log: Path, processes: str) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host or "127.0.0.1", int(port)
        self.log = log
        self.offset = log.stat().st_size if log.exists() else 0
        self.processes = re.compile(processes)
        self.stopped: dict[str, Any] | None = None

    def stats(self) -> dict[str, Any]:
        """The log is written by a daemon of its own a moment after the reply: read until it stops growing."""
        if self.stopped is not None:
            return self.stopped
        ids, size, quiet_since = self._ids(), -1, time.perf_counter()
        while time.perf_counter() - quiet_since < 0.3:
            time.sleep(0.05)
            if self.log.stat().st_size != size:
                size, quiet_since = self.log.stat().st_size, time.perf_counter()
                ids = self._ids()
        return {"received": len(ids), "unique": len(set(ids)), "cpu_s": cpu_s(processes(self.processes))}

    def stop(self) -> dict[str, Any]:
        if self.stopped is None:
            self.stopped = self.stats()
        return self.stopped

    def _ids(self) -> list[bytes]:
        with self.log.open("rb") as f:
            f.seek(self.offset)
            return [m.group(1) for m in _POSTFIX_MESSAGE_ID.finditer(f.read())]

# -- measuring ------------------------------------------------------------------------------------------------------


@dataclass
class TimedEmail:
    """The real SMTP executor, timed: rendering + building the message, and the whole call (the SMTP conversation is
    the difference)."""

    sender: SmtpSender
    build_s: float = 0.0
    call_s: float = 0.0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    sample: bytes = b""  # the last message built (the SMTP ceiling sends copies of it)

    def __post_init__(self) -> None:
        build_message = self.sender.build

        def timed_build(payload: dict[str, Any], key: str) -> Any:
            started = time.perf_counter()
            try:
                built = build_message(payload, key)
                self.sample = built.data
                return built
            finally:
                spent = time.perf_counter() - started
                with self.lock:
                    self.build_s += spent

        self.sender.build = timed_build  # type: ignore[method-assign]

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return self.sender(payload, key)
        finally:
            spent = time.perf_counter() - started
            with self.lock:
                self.call_s += spent
                self.calls += 1

    def close(self) -> None:
        self.sender.close()

    def snapshot(self) -> tuple[float, float, int]:
        with self.lock:
            return self.build_s, self.call_s, self.calls


def postmaster_pid(app: Backroom) -> int | None:
    """The embedded server's postmaster (its data directory's postmaster.pid); None for an external database."""
    if app.embedded is None:
        return None
    try:
        return int((app.embedded.pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def postgres_cpu_s(postmaster: int | None) -> float | None:
    """CPU seconds used so far by this run's PostgreSQL (the postmaster and its children: not other servers on the
    machine; exited backends are not counted); None for an external database, whose CPU this process cannot see."""
    return None if postmaster is None else cpu_s(processes(parent=postmaster))


def _proc() -> Iterator[tuple[int, str, int, int]]:
    """This machine's processes: (pid, name, parent's pid, CPU ticks used: user + system)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        yield int(pid), stat[stat.index("(") + 1 : stat.rindex(")")], int(fields[1]), int(fields[11]) + int(fields[12])


def cpu_s(pids: list[int]) -> float:
    """CPU seconds these processes have used so far."""
    wanted = set(pids)
    return sum(ticks for pid, _, _, ticks in _proc() if pid in wanted) / os.sysconf("SC_CLK_TCK")


def pin(pids: list[int], cpus: set[int]) -> None:
    """Move processes (single-threaded ones: PostgreSQL's, Postfix's) onto these CPUs; those they fork later follow
    (a process that has gone meanwhile is skipped)."""
    for pid in pids:
        try:
            os.sched_setaffinity(pid, cpus)
        except (ProcessLookupError, PermissionError):
            continue


def processes(matching: re.Pattern[str] | None = None, parent: int | None = None) -> list[int]:
    """This machine's processes whose name fully matches, or which are ``parent`` or its children."""
    return [pid for pid, name, ppid, _ in _proc()
            if (matching is not None and matching.fullmatch(name)) or (parent is not None and parent in (pid, ppid))]


@dataclass
class Phase:
    wall_s: float = 0.0
    bench_cpu_s: float = 0.0
    smtp_cpu_s: float = 0.0
    postgres_cpu_s: float | None = 0.0
    statements: int = 0

    def add(self, other: Phase) -> None:
        self.wall_s += other.wall_s
        self.bench_cpu_s += other.bench_cpu_s
        self.smtp_cpu_s += other.smtp_cpu_s
        self.statements += other.statements
        if self.postgres_cpu_s is None or other.postgres_cpu_s is None:
            self.postgres_cpu_s = None
        else:
            self.postgres_cpu_s += other.postgres_cpu_s

    def as_dict(self) -> dict[str, Any]:
        pg = None if self.postgres_cpu_s is None else round(self.postgres_cpu_s, 2)
        return {"wall_s": round(self.wall_s, 3), "bench_cpu_s": round(self.bench_cpu_s, 2),
                "smtp_server_cpu_s": round(self.smtp_cpu_s, 2), "postgres_cpu_s": pg,
                "statements": self.statements}


@contextmanager
def measured(phase: Phase, mail: MailServer | ExternalServer, statements: Iterator[int],
             postmaster: int | None) -> Iterator[None]:
    smtp = mail.stats()["cpu_s"]  # first: an external server's stats wait for its log to settle
    wall, cpu, pg, stmt = time.perf_counter(), time.process_time(), postgres_cpu_s(postmaster), next(statements)
    yield
    wall_s, used_s, pg_after = time.perf_counter() - wall, time.process_time() - cpu, postgres_cpu_s(postmaster)
    phase.add(Phase(wall_s, used_s, mail.stats()["cpu_s"] - smtp,
                    None if pg is None or pg_after is None else pg_after - pg, next(statements) - stmt - 1))


def count_statements(counter: Iterator[int]) -> None:
    """Count every statement this process sends through psycopg's (sync) cursors: SQLAlchemy's, and those the hot
    paths send to psycopg directly (the bulk writes, the effect runner's claim and "done", the last look). The
    procrastinate worker's own queries go through its async pool and are not counted."""
    for name in ("execute", "executemany"):
        original = getattr(psycopg.Cursor, name)

        def counted(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            next(counter)
            return __original(self, *args, **kwargs)

        setattr(psycopg.Cursor, name, counted)


# -- the SMTP server's own ceiling ----------------------------------------------------------------------------------


def smtp_ceiling(host: str, port: int, message: bytes, connections: int, count: int) -> float:
    """Messages per second the server accepts from a sender that does nothing else: ``count`` copies of one message
    backroom built (the same bytes but for a fresh Message-ID each), over ``connections`` sessions (the drain's
    concurrency) of the kind backroom sends with (``SmtpSession``: pipelined where the server offers it). What no
    sender on this machine can beat."""
    head, sep, rest = message.partition(b"Message-ID: ")
    rest = rest.split(b"\r\n", 1)[1]
    per = count // connections

    def send(n: int) -> None:
        smtp = SmtpSession(host, port, local_hostname="bench.localhost")
        try:
            for i in range(per):
                smtp.send_one("orders@example.com", "ceiling@example.com",
                              head + sep + f"<ceiling.{n}.{i}@bench>\r\n".encode() + rest)
        finally:
            smtp.quit()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


# -- setup ----------------------------------------------------------------------------------------------------------


def seed(app: Backroom, store_id: int, n: int, rng: random.Random, say: Callable[[str], None]) -> None:
    """N subscribed customers, N open checkouts and N enrollments (entered at START, due at once)."""
    flow = next(f for f in app.flows.flows if f.name == FLOW) if app.flows else None
    assert flow is not None
    with app.engine.begin() as conn:
        customers: list[dict[str, Any]] = []
        checkouts: list[dict[str, Any]] = []
        for i in range(n):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}.{i}@example.com"
            lines: list[dict[str, Any]] = [
                {"sku": sku, "quantity": rng.choice([1, 1, 1, 2]), "unit_price": price, "title": title}
                for sku, title, price in rng.sample(PRODUCTS, rng.choice([1, 1, 2, 3]))]
            total = sum(float(ln["unit_price"]) * int(ln["quantity"]) for ln in lines)
            customers.append({"store_id": store_id, "email": email, "name": f"{first} {last}", "created_at": START,
                              "channel": "shopify", "external_id": f"cust-{i}", "marketing_consent": "subscribed"})
            checkouts.append({"store_id": store_id, "channel": "shopify", "external_id": f"chk-{i}",
                              "token": uuid.uuid4().hex, "email": email, "customer_name": f"{first} {last}",
                              "currency": "GBP", "total": f"{total:.2f}", "lines": lines,
                              "recovery_url": f"https://shop.example.com/checkouts/{i}/recover?key={i:08x}",
                              "started_at": START, "platform_updated_at": START, "created_at": START,
                              "updated_at": START})
        for rows in _chunks(customers):
            conn.execute(insert(t.customers), rows)
        ids: list[int] = []
        for rows in _chunks(checkouts):
            ids += conn.execute(insert(t.checkouts).returning(t.checkouts.c.id, sort_by_parameter_order=True),
                                rows).scalars().all()
        say(f"seeded {n} customers and checkouts")
        enrollment_ids = conn.execute(text("SELECT nextval(pg_get_serial_sequence('marketing_enrollments', 'id'))"
                                           " FROM generate_series(1, :n)"), {"n": n}).scalars().all()
        enrollments = []
        for checkout_id, enrollment_id, row in zip(ids, enrollment_ids, checkouts, strict=True):
            context = {"checkout": {"email": row["email"], "total": float(row["total"]), "id": checkout_id},
                       "customer": {"email": row["email"]}}
            entered = enroll(flow, str(enrollment_id), row["email"], context, START, (), str(checkout_id))
            assert isinstance(entered, Enrollment), entered
            enrollments.append({"id": enrollment_id, "store_id": store_id, "flow": FLOW, "email": row["email"],
                                "subject_type": "checkout", "subject_id": checkout_id, "state": entered.state.value,
                                "wake_at": START, "enrolled_at": START, "value": enrollment_json(entered),
                                "updated_at": START})
        for rows in _chunks(enrollments):
            conn.execute(insert(t.marketing_enrollments), rows)
    with app.engine.begin() as conn:
        conn.execute(text("ANALYZE customers, checkouts, marketing_enrollments"))


def _chunks(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def add(total: TickResult, done: TickResult) -> None:
    for name in ("taken", "sent", "deferred", "discounts", "finished"):
        setattr(total, name, getattr(total, name) + getattr(done, name))
    for label, count in done.outcomes.items():
        total.outcomes[label] = total.outcomes.get(label, 0) + count


# -- facts about the run --------------------------------------------------------------------------------------------


def history_counts(app: Backroom, store_id: int) -> dict[str, int]:
    with app.engine.connect() as conn:
        found = conn.execute(text(
            "SELECT h->>'what' AS what, count(*) AS n FROM marketing_enrollments m,"
            " jsonb_array_elements(m.value->'history') h WHERE m.store_id = :s GROUP BY 1"), {"s": store_id})
        return {r.what: int(r.n) for r in found}


def machine(app: Backroom, embedded: bool) -> dict[str, Any]:
    """The pipeline bench's description of the machine, with the load at the end (this one runs for an hour)."""
    return {**pipeline_machine(app, embedded), "load_avg_at_end": os.getloadavg()}


# -- main -----------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--enrollments", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=WorkerSettings().concurrency,
                    help="the effect worker's concurrency while draining")
    ap.add_argument("--batch", type=int, default=MarketingConfig().batch, help="due enrollments per tick transaction")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--database-url", default=os.environ.get("BACKROOM_DATABASE_URL"),
                    help="use this PostgreSQL (a fresh store in it) instead of a temporary embedded server "
                         "(default: BACKROOM_DATABASE_URL if set)")
    ap.add_argument("--profile", type=Path, default=None,
                    help="cProfile the ticks (pstats here) and the drain's effect runs (.drain.pstats); top functions "
                         "on stderr")
    ap.add_argument("--smtp", metavar="HOST:PORT", default=None,
                    help="send to this running SMTP server (e.g. a local Postfix) instead of the bench's own aiosmtpd")
    ap.add_argument("--smtp-log", type=Path, default=Path("/var/log/postfix.log"),
                    help="with --smtp: the server's log, where each message's Message-ID is counted (Postfix's "
                         "maillog_file)")
    ap.add_argument("--smtp-processes", default=POSTFIX_PROCESSES,
                    help="with --smtp: a regular expression for the server's process names, whose CPU is counted")
    ap.add_argument("--split-cores", action="store_true",
                    help="the SMTP server on the last CPU alone, backroom and PostgreSQL on the others: the two "
                         "sides as on separate hosts, so the figures say which one is the bottleneck")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary BACKROOM_HOME")
    args = ap.parse_args(argv)
    if args.enrollments < 1 or args.concurrency < 1:
        ap.error("--enrollments and --concurrency must be positive")


    def say(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    home = Path(tempfile.mkdtemp(prefix="backroom-flows-bench-"))
    run = uuid.uuid4().hex[:8]
    all_cpus = os.sched_getaffinity(0)
    server_cpus = {max(all_cpus)} if args.split_cores else None
    backroom_cpus = all_cpus - (server_cpus or set())
    if args.split_cores and not backroom_cpus:
        ap.error("--split-cores needs at least two CPUs")
    if args.split_cores:
        os.sched_setaffinity(0, backroom_cpus)  # before any thread starts: they all inherit it
    if args.smtp is not None and not args.smtp_log.exists():
        ap.error(f"--smtp-log {args.smtp_log} does not exist (the server's log is where the bench counts messages)")
    mail: MailServer | ExternalServer = (MailServer(cpus=server_cpus) if args.smtp is None
                                         else ExternalServer(args.smtp, args.smtp_log, args.smtp_processes))
    if server_cpus and isinstance(mail, ExternalServer):
        pin(processes(mail.processes), server_cpus)
    clock = SimulatedClock(START)
    settings = Settings(
        database_url=args.database_url,
        home=home,
        store=f"flows-bench-{run}",
        smtp=SmtpSettings(host=getattr(mail, "host", "127.0.0.1"), port=mail.port),
        warehouse=WarehouseSettings(mode="csv", csv_dir=home / "warehouse"),
        worker=WorkerSettings(concurrency=args.concurrency),
        effects=EffectSettings(max_attempts=3, backoff_base_s=0.0),
        marketing=MarketingConfig(enabled_flows=[FLOW], unsubscribe_secret=SecretStr("bench-secret"),
                                  public_url="https://shop.example.com", tick_every_s=0, batch=args.batch),
    )
    email = TimedEmail(SmtpSender(settings.smtp))
    started = time.perf_counter()
    app = build(settings, clock=clock, executors={**default_executors(settings), "email": email})
    profile = cProfile.Profile() if args.profile else None
    drain_profiles = ThreadProfiles() if args.profile else None
    if drain_profiles is not None:
        app.runner.run = drain_profiles.wrap(app.runner.run)  # type: ignore[method-assign]
    ticks, drains = Phase(), Phase()
    tick = TickResult()
    tick_rounds: list[dict[str, Any]] = []
    drain_rounds: list[dict[str, Any]] = []

    def progress() -> None:
        """The phases done so far, written after each one, so a run stopped early still leaves its figures (the
        complete report replaces this at the end)."""
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "complete": False, "enrollments": args.enrollments, "setup_s": round(setup_s, 2),
            "tick_rounds": tick_rounds, "drain_rounds": drain_rounds, "command": " ".join(["python", *sys.argv]),
            "at": datetime.now(UTC).isoformat(timespec="seconds")}, indent=2, default=str) + "\n")

    try:
        say(f"PostgreSQL ready in {time.perf_counter() - started:.1f}s "
            f"({'embedded under ' + str(home) if app.embedded else 'external'}); SMTP server on port {mail.port}")
        store_id = app.store_id()
        started = time.perf_counter()
        seed(app, store_id, args.enrollments, random.Random(args.seed), say)
        setup_s = time.perf_counter() - started
        say(f"enrolled {args.enrollments} in {setup_s:.1f}s")

        postmaster = postmaster_pid(app)
        if args.split_cores and postmaster is not None:
            pin(processes(parent=postmaster), backroom_cpus)
        statements = itertools.count()
        count_statements(statements)
        for label, at, drain in (("09:00 enter the wait", timedelta(0), False),
                                 ("10:00 first reminder", timedelta(hours=1), True),
                                 ("09:00+1d discount + second reminder", timedelta(hours=24), True)):
            clock.set(START + at)
            round_phase = Phase()
            with measured(round_phase, mail, statements, postmaster):
                if profile is not None:
                    profile.enable()
                done = app.advance_flows()
                if profile is not None:
                    profile.disable()
            ticks.add(round_phase)
            add(tick, done)
            tick_rounds.append({"at": label, "taken": done.taken, "sent": done.sent, "deferred": done.deferred,
                                "discounts": done.discounts, **round_phase.as_dict()})
            say(f"tick {label}: {done.taken} taken, {done.sent} emails asked for, {done.discounts} codes in "
                f"{round_phase.wall_s:.1f}s")
            progress()
            if drain:
                before = mail.stats()["received"]
                drain_phase = Phase()
                with measured(drain_phase, mail, statements, postmaster):
                    app.drain(max_rounds=100)
                drains.add(drain_phase)
                sent = mail.stats()["received"] - before
                drain_rounds.append({"after": label, "emails": sent, **drain_phase.as_dict()})
                say(f"drain: {sent} emails in {drain_phase.wall_s:.1f}s")
                progress()
        build_s, call_s, calls = email.snapshot()
        counts = history_counts(app, store_id)
        pending = int(scalar(app, "SELECT count(*) FROM effects WHERE store_id = :s AND status <> 'done'",
                             s=store_id))
        completed = int(scalar(app, "SELECT count(*) FROM marketing_enrollments WHERE store_id = :s AND"
                                    " state = 'completed'", s=store_id))
        sends = int(scalar(app, "SELECT count(*) FROM marketing_sends WHERE store_id = :s", s=store_id))
        server = mail.stats()  # what backroom sent (the ceiling's messages come after)
        ceiling, ceiling_count = Phase(), min(max(int(server["received"]), 2000), 20_000)
        say(f"the SMTP server's ceiling: {ceiling_count} copies of a reminder over {args.concurrency} sessions")
        with measured(ceiling, mail, statements, postmaster):
            smtp_ceiling(getattr(mail, "host", "127.0.0.1"), mail.port, email.sample, args.concurrency, ceiling_count)
        ceiling_count = int(mail.stats()["received"]) - int(server["received"])
        info = machine(app, app.embedded is not None)
    finally:
        app.close()
        if server_cpus and isinstance(mail, ExternalServer):
            pin(processes(mail.processes), all_cpus)  # the machine's own server gets its CPUs back
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    mail.stop()

    steps = sum(counts.get(what, 0) for what in STEP_DONE)
    emails = int(server["received"])
    figures: dict[str, Any] = {
        "steps_per_s": round(steps / ticks.wall_s, 1),
        "emails_per_s": round(emails / drains.wall_s, 1),
        # the same server, sent pre-built messages by a sender doing nothing else, over as many sessions
        "smtp_ceiling_per_s": round(ceiling_count / ceiling.wall_s, 1),
        "drain_share_of_ceiling": round(emails / drains.wall_s / (ceiling_count / ceiling.wall_s), 3),
        "wakes_per_s": round(tick.taken / ticks.wall_s, 1),
        "enrollments": args.enrollments,
        "steps": steps,
        "wakes": tick.taken,
        "emails": emails,
        "emails_unique": int(server["unique"]),
        "deferred": tick.deferred,
        "discounts": tick.discounts,
        "completed": completed,
        "tick_s": round(ticks.wall_s, 2),
        "drain_s": round(drains.wall_s, 2),
        "setup_s": round(setup_s, 2),
    }
    where: dict[str, Any] = {
        "tick": ticks.as_dict(),
        "drain": drains.as_dict(),
        "tick_ms_per_wake": round(ticks.wall_s / max(1, tick.taken) * 1000, 3),
        "tick_statements_per_wake": round(ticks.statements / max(1, tick.taken), 1),
        "drain_ms_per_email": round(drains.wall_s / max(1, emails) * 1000, 3),
        "drain_statements_per_email": round(drains.statements / max(1, emails), 1),
        "email_render_ms": round(build_s / max(1, calls) * 1000, 3),
        # the executor's call minus the render: the SMTP conversation and, with several worker threads, the wait
        # for the GIL (the threads share one interpreter)
        "email_smtp_ms": round((call_s - build_s) / max(1, calls) * 1000, 3),
        "email_executor_calls": calls,
        "smtp_server_cpu_share_of_drain_wall": round(drains.smtp_cpu_s / drains.wall_s, 3) if drains.wall_s else None,
        "bench_cpu_share_of_drain_wall": round(drains.bench_cpu_s / drains.wall_s, 3) if drains.wall_s else None,
        "postgres_cpu_share_of_drain_wall": (round(drains.postgres_cpu_s / drains.wall_s, 3)
                                             if drains.wall_s and drains.postgres_cpu_s is not None else None),
        # CPU per email: this process (backroom: worker, runner, render, smtplib), the SMTP server, PostgreSQL
        "drain_backroom_cpu_ms_per_email": round(drains.bench_cpu_s / max(1, emails) * 1000, 3),
        "drain_smtp_server_cpu_ms_per_email": round(drains.smtp_cpu_s / max(1, emails) * 1000, 3),
        "drain_postgres_cpu_ms_per_email": (round(drains.postgres_cpu_s / max(1, emails) * 1000, 3)
                                            if drains.postgres_cpu_s is not None else None),
        "ceiling": {**ceiling.as_dict(), "messages": ceiling_count,
                    "sender_cpu_ms_per_email": round(ceiling.bench_cpu_s / max(1, ceiling_count) * 1000, 3),
                    "smtp_server_cpu_ms_per_email": round(ceiling.smtp_cpu_s / max(1, ceiling_count) * 1000, 3),
                    "smtp_server_cpu_share_of_wall": round(ceiling.smtp_cpu_s / ceiling.wall_s, 3)},
    }
    for name, value in figures.items():
        print(f"{name} {value}")
    for name in ("tick_ms_per_wake", "tick_statements_per_wake", "drain_ms_per_email", "drain_statements_per_email",
                 "email_render_ms", "email_smtp_ms", "drain_backroom_cpu_ms_per_email",
                 "drain_smtp_server_cpu_ms_per_email", "drain_postgres_cpu_ms_per_email",
                 "smtp_server_cpu_share_of_drain_wall"):
        print(f"{name} {where[name]}")
    for phase in ("tick", "drain", "ceiling"):
        for name, value in where[phase].items():
            print(f"{phase}_{name} {value}")
    ok = (emails == int(server["unique"]) == sends == 2 * args.enrollments and pending == 0
          and completed == args.enrollments)
    print(f"checks_ok {str(ok).lower()}")

    report = {
        "complete": True,
        **figures,
        "details": {
            "flow": FLOW, "flow_steps": "wait 1h, send reminder, wait 23h, create 10% discount, send reminder",
            "history": counts, "tick_outcomes": tick.outcomes, "tick_rounds": tick_rounds,
            "drain_rounds": drain_rounds,
            "batch": args.batch, "drain_concurrency": args.concurrency, "marketing_sends": sends,
            "cpus": ({"smtp_server": sorted(server_cpus), "backroom_and_postgres": sorted(backroom_cpus)}
                     if server_cpus else {"shared": sorted(all_cpus)}),
            "effects_not_done": pending,
            "smtp_server": ("aiosmtpd in a child process, offers PIPELINING, counts Message-IDs" if args.smtp is None
                            else f"{args.smtp}, Message-IDs counted from {args.smtp_log}"),
            "where_time_goes": where,
        },
        "checks": {"every_email_once": emails == int(server["unique"]) == sends, "no_effect_left": pending == 0,
                   "every_enrollment_completed": completed == args.enrollments, "ok": ok},
        "machine": info,
        "command": " ".join(["python", *sys.argv]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    say(f"wrote {args.out}")
    if profile is not None and drain_profiles is not None:
        dump_profiles([profile], args.profile, say)
        dump_profiles(list(drain_profiles.profiles.values()), args.profile.with_suffix(".drain.pstats"), say)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
