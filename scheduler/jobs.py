"""APScheduler wiring for `python -m bot run`: one job that calls tick(deps, now) at the start of every
minute, in BOT_TIMEZONE. The tick is idempotent, so catching up after a restart is just the first
tick (it runs at once on start), and a run skipped while the previous one was still busy loses
nothing. The channels' senders, already running in `run`, are woken to deliver what a tick queued.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from handlers.context import Deps
from scheduler.tick import Sender, TickReport, tick

log = logging.getLogger(__name__)

JOB_ID = "dtbot-schedule-tick"
MISFIRE_GRACE = 50  # seconds: a run this late still happens; later ones merge into the next minute


class TickJob:
    """The job APScheduler calls. One at a time; what it did is kept for tests and logs."""

    def __init__(self, deps: Deps, senders: Mapping[str, Sender] | None,
                 on_report: Callable[[TickReport], None] | None = None) -> None:
        self.deps = deps
        # Kept by reference: channels started after the scheduler add their senders to it.
        self.senders = senders if senders is not None else {}
        self.on_report = on_report
        self.running = asyncio.Lock()
        self.last: TickReport | None = None

    async def run(self) -> None:
        async with self.running:
            try:
                report = await tick(self.deps, self.deps.clock())
            except Exception:  # the next minute tries again; nothing is lost
                log.exception("scheduled tick failed")
                return
            self.last = report
            if report.queued:
                log.info("tick queued %d scheduled message(s): %s", len(report.queued),
                         dict(sorted((kind.value, n) for kind, n in report.counts().items())))
                for sender in self.senders.values():
                    sender.wake.set()
            if self.on_report is not None:
                self.on_report(report)


def start_scheduler(deps: Deps, senders: Mapping[str, Sender] | None = None, *,
                    on_report: Callable[[TickReport], None] | None = None,
                    first_run: datetime | None = None) -> AsyncIOScheduler:
    """Start the schedule on the running event loop: a tick now (catch-up), then every minute.
    `senders` (channel -> Sender, running elsewhere) are woken when a tick queued messages."""
    zone = deps.timezone
    for name in ("apscheduler.executors.default", "apscheduler.scheduler"):
        quiet = logging.getLogger(name)  # "Running job…" every minute is noise in the bot's log
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone=zone)
    job = TickJob(deps, senders, on_report)
    scheduler.add_job(
        job.run, trigger=CronTrigger(second=0, timezone=zone), id=JOB_ID, name="reporting schedule tick",
        replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE,
        next_run_time=first_run or datetime.now(zone),
    )
    scheduler.start()
    return scheduler


def tick_job(scheduler: AsyncIOScheduler) -> TickJob | None:
    job = scheduler.get_job(JOB_ID)
    owner = getattr(job.func, "__self__", None) if job is not None else None
    return owner if isinstance(owner, TickJob) else None


async def stop_scheduler(scheduler: AsyncIOScheduler, timeout: float = 10.0) -> None:
    """Stop scheduling; a tick in progress gets `timeout` seconds to finish its transaction (what
    it did not reach is done by the next start's first tick)."""
    if not scheduler.running:
        return
    job = tick_job(scheduler)
    scheduler.pause()
    if job is not None and job.running.locked():
        try:
            await asyncio.wait_for(_wait_idle(job), timeout)
        except TimeoutError:
            log.warning("scheduled tick still running at stop; it is cancelled and redone at the next start")
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0)  # let the executor's cancellations run


async def _wait_idle(job: TickJob) -> None:
    async with job.running:
        pass
