"""Plan views kept warm (issue 19): built when the bot starts and again, in the background, soon
after a plan is re-imported (by this process or another sharing the database), so that the first
officer's question after an import does not wait for a province's plan to be read."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from handlers.context import Deps
from models.store import VIEW_RECHECK_SECONDS, refresh_plan_views

log = logging.getLogger(__name__)

# How often the warmer asks whether a plan was re-imported: one small query, well within the
# time a request trusts a view without asking (VIEW_RECHECK_SECONDS).
WARM_EVERY_SECONDS = VIEW_RECHECK_SECONDS / 2


async def warm_plan_views(deps: Deps) -> list[int]:
    """Build the views of plans that are new or were re-imported; returns their ids."""
    async with deps.sessions() as session:
        return await refresh_plan_views(session, deps.plan_views)


async def keep_plan_views_warm(deps: Deps, stop: asyncio.Event, every: float = WARM_EVERY_SECONDS) -> None:
    """Warm the views until `stop` is set. A failed pass (the database away a moment) is logged and
    tried again: meanwhile requests past VIEW_STALE_SECONDS build what they need themselves."""
    while not stop.is_set():
        try:
            rebuilt = await warm_plan_views(deps)
            if rebuilt:
                log.info("plan views rebuilt in the background: %s", ", ".join(map(str, rebuilt)))
        except Exception:
            log.warning("plan views could not be refreshed; trying again", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
