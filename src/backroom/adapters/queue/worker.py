"""The worker: a procrastinate worker running effect jobs, plus a recovery loop that re-queues the jobs of workers
that died (no heartbeat) and effects whose job went missing, and runs periodic checks (alerts, reconciliation
polls) every so often. Run as many
as you like, anywhere, on one database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass
from datetime import timedelta

import procrastinate

from backroom.adapters.queue.defer import EFFECTS_QUEUE, RUN_EFFECTS_TASK
from backroom.adapters.queue.runner import EffectRunner
from backroom.config import WorkerSettings

log = logging.getLogger(__name__)


def make_app(dsn: str, runner: EffectRunner) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name=RUN_EFFECTS_TASK, queue=EFFECTS_QUEUE)
    def run_effects(effect_ids: list[int]) -> None:
        runner.run(effect_ids)

    return app


async def recover_forever(app: procrastinate.App, runner: EffectRunner, settings: WorkerSettings,
                          checks: Sequence[PeriodicCheck] = ()) -> None:
    loop = asyncio.get_running_loop()
    due = [loop.time()] * len(checks)
    while True:
        await recover_once(app, runner, settings)
        for n, check in enumerate(checks):
            if check.every_s > 0 and loop.time() >= due[n]:
                due[n] = loop.time() + check.every_s
                await run_check(check)
        await asyncio.sleep(settings.poll_s)


@dataclass(frozen=True)
class PeriodicCheck:
    """Work the recovery loop runs every ``every_s`` seconds (the alert checks; 0: never). ``run`` guards itself
    against other workers doing the same and returns how much it did, or None when another worker holds it."""

    name: str
    every_s: float
    run: Callable[[], Sized | None]


async def run_check(check: PeriodicCheck) -> None:
    try:
        done = await asyncio.to_thread(check.run)
    except Exception:  # a failing check must not stop recovery; it is logged and tried again next time
        log.exception("%s failed", check.name)
        return
    if done:
        log.info("%s: %d done", check.name, len(done))


async def recover_once(app: procrastinate.App, runner: EffectRunner, settings: WorkerSettings) -> int:
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.stalled_after_s))
    for job in stalled:
        await app.job_manager.retry_job(job)
    swept = await asyncio.to_thread(runner.sweep, timedelta(seconds=settings.stalled_after_s))
    if stalled or swept:
        log.info("recovered %d stalled jobs, re-queued %d effects", len(stalled), swept)
    return len(stalled) + swept


async def run_worker(
    app: procrastinate.App,
    runner: EffectRunner,
    settings: WorkerSettings,
    *,
    wait: bool = True,
    install_signal_handlers: bool | None = None,
    checks: Sequence[PeriodicCheck] = (),
) -> None:
    """Run effect jobs; with ``wait=False`` drain what is due now and return (no recovery loop, no checks).

    Signal handlers default to ``wait``. A host that owns SIGINT/SIGTERM itself (uvicorn) passes False and stops
    the worker by cancelling its task, so one Ctrl-C stops both.
    """
    if install_signal_handlers is None:
        install_signal_handlers = wait
    async with app.open_async():
        recovery = asyncio.create_task(recover_forever(app, runner, settings, checks)) if wait else None
        try:
            await app.run_worker_async(
                queues=[EFFECTS_QUEUE],
                concurrency=settings.concurrency,
                wait=wait,
                delete_jobs="successful",
                install_signal_handlers=install_signal_handlers,
                update_heartbeat_interval=settings.heartbeat_s,
                stalled_worker_timeout=settings.stalled_after_s,
                listen_notify=wait,
                fetch_job_polling_interval=settings.poll_s,
            )
        finally:
            if recovery is not None:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery
