"""The web desk's HTTP side: routes, sign-in, sessions, CSRF, security headers and rendering.

What each page shows comes from handlers/desk.py (the same summary as the chat); this module only
decides who is asking and turns the answer into HTML or JSON. Every asset is served from here
(the desk works inside a government network without internet) and the Content-Security-Policy
allows this origin only.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.app import App
from handlers import desk
from locales import Translator, translator
from models import web_access
from models.web_access import Signed

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
COOKIE = "dtdesk"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
BODIES = 256  # plan page bodies kept
LOGIN_TRIES = 20  # sign-in attempts per address per minute: a token cannot be guessed, but keep it so
SIGNED: web.RequestKey[Signed | None] = web.RequestKey("signed", object)  # type: ignore[arg-type]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Desk:
    """The desk of one bot: build `application()` and serve it on WEB_LISTEN."""

    def __init__(self, app: App, base_url: str | None = None, senders: Mapping[str, Any] | None = None) -> None:
        self.app = app
        # The outbox senders of this process (python -m bot run), woken when a page queues a
        # message (a return told to the officer); alone (python -m bot web), the bot's process
        # finds it on its next round.
        self.senders = senders if senders is not None else {}
        self.base_url = (base_url or app.settings.web_base_url or "http://127.0.0.1:8090").rstrip("/")
        self.secure = self.base_url.startswith("https://")
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(["html", "svg"]), trim_blocks=True,
                                     lstrip_blocks=True)
        self.logins: dict[str, deque[float]] = {}
        self.summaries = desk.Summaries()
        self.series = desk.YearSeries()
        self.exports = asyncio.Semaphore(1)  # one spreadsheet written at a time: each takes seconds of CPU
        # The plan page's body rendered once per assembled page (desk.Summaries keeps those): what
        # differs between readers (name, form token) is the frame around it.
        self.bodies: OrderedDict[int, tuple[object, Markup]] = OrderedDict()

    # --- the application ---------------------------------------------------------------------

    def application(self) -> web.Application:
        application = web.Application(middlewares=[self._headers, self._errors, self._session])
        application.add_routes([
            web.get("/", self.home),
            web.get("/login/{token}", self.login),
            web.post("/logout", self.logout),
            web.get("/plans/{plan}", self.plan),
            web.get("/plans/{plan}/units/{unit}", self.unit),
            web.get("/plans/{plan}/charts/{code}.svg", self.chart),
            web.get("/plans/{plan}/review", self.review),
            web.post("/plans/{plan}/review", self.review_post),
            web.get("/plans/{plan}/evidence/{evidence}", self.evidence),
            web.get("/plans/{plan}/export.xlsx", self.export),
            web.get("/plans/{plan}/report.docx", self.report),
            web.get("/api/v1/openapi.json", self.openapi),
            web.get("/api/v1/plans/{plan}/results", self.api_results),
            web.get("/api/v1/plans/{plan}/figures", self.api_figures),
            web.static("/static", HERE / "static", append_version=False),
        ])
        return application

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except desk.DeskError as error:
            t = self._t(request)
            text = t(error.message_id, **error.params)
            if request.path.startswith("/api/"):
                return web.json_response({"error": text}, status=error.status)
            return await self._page(request, "message.html", {"title": t("web-title-error"), "text": text},
                              status=error.status)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("web desk: %s failed", request.path)
            t = self._t(request)
            if request.path.startswith("/api/"):
                return web.json_response({"error": t("web-error-internal")}, status=500)
            return await self._page(request, "message.html", {"title": t("web-title-error"),
                                                        "text": t("web-error-internal")}, status=500)

    @web.middleware
    async def _session(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        token = request.cookies.get(COOKIE)
        signed = None
        if token:
            async with self.app.sessions() as session:
                signed = await web_access.signed_in(session, token, self.app.now())
        request[SIGNED] = signed
        return await handler(request)

    # --- helpers -------------------------------------------------------------------------------

    def _t(self, request: web.Request) -> Translator:
        signed = request.get(SIGNED)
        locale = signed.person.locale if signed is not None and signed.person.locale else None
        return translator(locale or self.app.settings.bot_locale)

    async def _page(self, request: web.Request, template: str, values: dict[str, Any],
                    status: int = 200) -> web.Response:
        """The template rendered in a worker thread: a page of thousands of cells never holds up
        the event loop (and the officers' replies it serves)."""
        t = self._t(request)
        signed = request.get(SIGNED)
        html = await asyncio.to_thread(self.templates.get_template(template).render, t=t, lang=t.locale,
                                       signed=signed, csrf=signed.csrf if signed else "", **values)
        return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)

    def _need_person(self, request: web.Request) -> Signed:
        signed = request.get(SIGNED)
        if signed is None:
            raise desk.DeskError("web-sign-in-needed", 401)
        return signed

    def _context(self, request: web.Request) -> dict[str, Any]:
        deps = self.app.deps
        return {"cache": deps.plan_views, "summaries": self.summaries,
                "today": self.app.now().astimezone(deps.timezone).date(), "zone": deps.timezone}

    def _same_origin(self, request: web.Request) -> bool:
        """A form must come from the desk's own pages: Origin (or Referer) names this origin."""
        ours = urlsplit(self.base_url)
        sent = request.headers.get("Origin") or request.headers.get("Referer")
        if not sent:
            return False
        theirs = urlsplit(sent)
        same_host = theirs.netloc in (ours.netloc, request.host)
        return theirs.scheme in ("http", "https") and same_host

    def _login_allowed(self, request: web.Request) -> bool:
        now = time.monotonic()
        tries = self.logins.setdefault(request.remote or "?", deque())
        while tries and now - tries[0] > 60:
            tries.popleft()
        if len(tries) >= LOGIN_TRIES:
            return False
        tries.append(now)
        if len(self.logins) > 10_000:  # forget idle addresses
            self.logins = {k: v for k, v in self.logins.items() if v and now - v[-1] < 60}
        return True

    # --- pages ---------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        signed = request.get(SIGNED)
        t = self._t(request)
        if signed is None:
            return await self._page(request, "message.html", {"title": t("web-title"), "text": t("web-sign-in-needed")})
        async with self.app.sessions() as session:
            plans = await desk.plans_of(session, signed.person, self.app.deps.plan_views)
        if len(plans) == 1:
            only = plans[0]
            if only.whole_plan:
                raise web.HTTPSeeOther(f"/plans/{only.code}")
            if len(only.units) == 1 and not only.reviews:
                raise web.HTTPSeeOther(f"/plans/{only.code}/units/{only.units[0][0]}")
        return await self._page(request, "home.html", {"title": t("web-title"), "plans": plans})

    async def login(self, request: web.Request) -> web.StreamResponse:
        t = self._t(request)
        if not self._login_allowed(request):
            return await self._page(request, "message.html", {"title": t("web-title-error"),
                                                        "text": t("web-login-too-many")}, status=429)
        async with self.app.unit_of_work() as session:
            person = await web_access.redeem_login(session, request.match_info["token"], self.app.now())
            token = (await web_access.start_session(session, person.id, self.app.now()))[0] if person else None
        if token is None:
            return await self._page(request, "message.html", {"title": t("web-title-error"),
                                                        "text": t("web-login-invalid")}, status=403)
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, token, max_age=web_access.SESSION_HOURS * 3600, httponly=True,
                            samesite="Lax", secure=self.secure, path="/")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        form = await request.post()
        if not self._same_origin(request) or form.get("csrf") != signed.csrf:
            raise desk.DeskError("web-error-forged", 403)
        async with self.app.unit_of_work() as session:
            await web_access.end_session(session, request.cookies.get(COOKIE, ""), self.app.now())
        response = web.HTTPSeeOther("/")
        response.del_cookie(COOKIE, path="/")
        raise response

    async def plan(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        t = self._t(request)
        filters = {name: request.query.get(name, "") for name in ("group", "kind", "status", "units")}
        async with self.app.sessions() as session:
            shown, reviews = await desk.plan_page(session, signed.person, request.match_info["plan"],
                                                  request.query.get("period"), t=t, filters=filters,
                                                  page=_count(request.query.get("page")) or 1,
                                                  **self._context(request))
        return await self._page(request, "plan.html", {"title": shown.plan_title, "reviews": reviews, "p": shown,
                                                       "main": await self._plan_body(shown, t)})

    async def _plan_body(self, shown: desk.PlanPage, t: Translator) -> Markup:
        kept = self.bodies.get(id(shown))
        if kept is not None and kept[0] is shown:
            self.bodies.move_to_end(id(shown))
            return kept[1]

        def link(**changes: object) -> str:
            query = {"period": shown.period, **shown.filters, **changes}
            return "?" + urlencode({k: v for k, v in query.items() if v not in (None, "", 1)})

        body = Markup(await asyncio.to_thread(self.templates.get_template("plan_main.html").render,
                                              t=t, p=shown, link=link))
        self.bodies[id(shown)] = (shown, body)
        while len(self.bodies) > BODIES:
            self.bodies.popitem(last=False)
        return body

    async def unit(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        t = self._t(request)
        async with self.app.sessions() as session:
            shown = await desk.unit_page(session, signed.person, request.match_info["plan"],
                                         request.match_info["unit"], request.query.get("period"), t=t,
                                         **self._context(request))
        return await self._page(request, "unit.html", {"title": f"{shown.unit_name} — {shown.plan_title}", "u": shown})

    async def chart(self, request: web.Request) -> web.StreamResponse:
        """One indicator over the year (the plan page's pictures): SVG drawn here, no script."""
        signed = self._need_person(request)
        t = self._t(request)
        async with self.app.sessions() as session:
            shown = await desk.year_chart(session, signed.person, request.match_info["plan"],
                                          request.match_info["code"], request.query.get("period"), t=t,
                                          series=self.series,
                                          sessions=self.app.sessions, **self._context(request))
        svg = await asyncio.to_thread(self.templates.get_template("chart.svg").render, c=shown)
        return web.Response(text=svg, content_type="image/svg+xml", charset="utf-8")

    async def review(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        t = self._t(request)
        notes = desk.review_notes(desk.ReviewOutcome(desk.ReviewNote(request.query["done"]),
                                                     *(_count(request.query.get(k)) for k in ("n", "e", "u"))), t) \
            if request.query.get("done") in {note.value for note in desk.ReviewNote} else []
        async with self.app.sessions() as session:
            shown = await desk.review_page(session, signed.person, request.match_info["plan"],
                                           request.query.get("period"), request.query.get("indicator"), t=t,
                                           state_filter=request.query.get("state", ""),
                                           page=_count(request.query.get("page")) or 1, notes=notes,
                                           **self._context(request))
        return await self._page(request, "review.html", {"title": f"{t('web-review-title')} — {shown.plan_title}",
                                                         "r": shown})

    async def review_post(self, request: web.Request) -> web.StreamResponse:
        """Approve or return from the review table: checked like every form (CSRF token and
        origin), then the same decisions as in chat; the answer is the table again, by GET."""
        signed = self._need_person(request)
        form = await request.post()
        if not self._same_origin(request) or form.get("csrf") != signed.csrf:
            raise desk.DeskError("web-error-forged", 403)
        try:
            action = desk.ReviewAction(str(form.get("action", "")))
        except ValueError:
            raise desk.DeskError("web-error-forged", 400) from None
        plan_code, period, indicator = request.match_info["plan"], str(form.get("period", "")), str(
            form.get("indicator", ""))
        context = self._context(request)
        async with self.app.unit_of_work() as session:
            done = await desk.review_act(session, signed.person, plan_code, period or None, indicator, action,
                                         [str(code) for code in form.getall("unit", [])], str(form.get("reason", "")),
                                         now=self.app.now(), default_locale=self.app.deps.default_locale, **context)
        if done.note is desk.ReviewNote.RETURNED:
            for sender in self.senders.values():
                sender.wake.set()
        query = {"period": period, "indicator": indicator, "state": str(form.get("state", "")),
                 "done": done.note.value, "n": done.count, "e": done.without_evidence, "u": done.untold}
        raise web.HTTPSeeOther(f"/plans/{plan_code}/review?" + urlencode({k: v for k, v in query.items() if v}))

    async def evidence(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        store = self.app.deps.file_store
        try:
            evidence_id = int(request.match_info["evidence"])
        except ValueError:
            raise desk.DeskError("web-error-no-file", 404) from None
        async with self.app.sessions() as session:
            name, content_type, digest = await desk.evidence_file(session, signed.person, request.match_info["plan"],
                                                                  evidence_id, cache=self.app.deps.plan_views)
        content = await store.get(digest) if store is not None else None
        if content is None:
            raise desk.DeskError("web-error-no-file", 404)
        # Always a download: a file people sent is never rendered as a page of the desk's origin.
        return web.Response(body=content, content_type=content_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    async def export(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        context = self._context(request)
        async with self.exports, self.app.sessions() as session:
            name, content = await desk.spreadsheet(session, signed.person, request.match_info["plan"],
                                                   request.query.get("period"), cache=context["cache"],
                                                   today=context["today"], zone=context["zone"], t=self._t(request))
        return web.Response(body=content, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="{name}"'})

    async def report(self, request: web.Request) -> web.StreamResponse:
        signed = self._need_person(request)
        async with self.exports, self.app.sessions() as session:
            name, content = await desk.official_report(session, signed.person, request.match_info["plan"],
                                                       request.query.get("period"), **self._context(request))
        return web.Response(body=content, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Content-Disposition": f'attachment; filename="{name}"'})

    # --- the API -------------------------------------------------------------------------------

    async def _api_reader(self, request: web.Request) -> tuple[Any, int | None]:
        """(the signed-in person, None) or (None, the plan of a Bearer key); 401 otherwise."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            async with self.app.sessions() as session:
                plan_id = await web_access.plan_of_key(session, header[7:])
            if plan_id is None:
                raise desk.DeskError("web-error-key", 401)
            return None, plan_id
        signed = request.get(SIGNED)
        if signed is None:
            raise desk.DeskError("web-sign-in-needed", 401)
        return signed.person, None

    async def api_results(self, request: web.Request) -> web.StreamResponse:
        person, key_plan = await self._api_reader(request)
        async with self.app.sessions() as session:
            document = await desk.results_document(session, person, key_plan, request.match_info["plan"],
                                                   request.query.get("period"), t=self._t(request),
                                                   **self._context(request))
        return web.json_response(document, dumps=_dumps)

    async def api_figures(self, request: web.Request) -> web.StreamResponse:
        person, key_plan = await self._api_reader(request)
        context = self._context(request)
        async with self.app.sessions() as session:
            documents = await desk.figures_document(
                session, person, key_plan, request.match_info["plan"], request.query.get("period"),
                request.query.get("unit"), versions=request.query.get("versions") in ("1", "true"),
                cache=context["cache"], today=context["today"])  # a plain read: no summary
        if request.query.get("format") == "csv":
            out = io.StringIO()
            csv.writer(out).writerows(desk.as_csv_rows(documents))
            return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")
        return web.json_response(documents, dumps=_dumps)

    async def openapi(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(HERE / "static" / "openapi.json", headers={"Content-Type": "application/json"})


def _count(text: str | None) -> int:
    """A small count from the address (a page number, the counts of a review note); 0 if not one."""
    return int(text) if text and text.isdigit() and len(text) < 7 else 0


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def serve_desk(app: App, host: str, port: int, stop: Any, base_url: str | None = None,
                     senders: Mapping[str, Any] | None = None) -> None:
    """Serve the desk until `stop` (an asyncio.Event) is set."""
    runner = web.AppRunner(Desk(app, base_url, senders).application(), access_log=None)  # a sign-in path holds a token
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("web desk on http://%s:%s", host, port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
