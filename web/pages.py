"""The dashboard's pages: sign-in, overview, theme, search, export, "you said, we did" and (for
admins) conversations. Each page asks the services; none speaks SQL.

Every signed-in page looks its viewer up again from storage (`SignIns.viewer`), so a member of
staff removed a moment ago is signed out on their next click. Every form carries a CSRF token
bound to the session; a POST without the right one changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from conversations.changes import describe_changes
from conversations.loader import FlowFileError, parse_flow
from insights import redact
from services.actions import STATUSES, ActionError
from services.library import UnknownFlow
from services.signin import SESSION_LIFETIME, SIGN_IN_PATH, Viewer, form_token
from storage.models import AnswerFact
from storage.web_models import AnswerQuery
from web.app import Dashboard
from web.export import csv_of
from web.figures import TONES, bars, share, top_themes, week_bounds

SESSION_COOKIE = "wm_session"
SIGN_IN_COOKIE = "wm_signin"  # the double-submit token of the sign-in form (before a session)
PAGE_SIZE = 50
LONGEST_UPLOAD = 1_000_000


@dataclass(frozen=True)
class Visit:
    """A signed-in request: the dashboard, who is looking, and their forms' CSRF token."""

    request: Request
    dashboard: Dashboard
    viewer: Viewer
    session: str
    csrf: str
    form: FormData | None

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        """A page, with the viewer, the CSRF token and the navigation."""
        return self.dashboard.templates.TemplateResponse(
            self.request,
            template,
            {"viewer": self.viewer, "csrf": self.csrf, **context},
            status_code=status_code,
        )

    def field(self, name: str) -> str:
        """A text field of the posted form ('' if missing)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""


Handler = Callable[[Visit], Awaitable[Response]]


def _dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.state.dashboard
    return found


def plain(request: Request, template: str, status_code: int, **context: Any) -> Response:
    """A page for someone not signed in (sign-in, refusals)."""
    return _dashboard(request).templates.TemplateResponse(
        request, template, {"viewer": None, **context}, status_code=status_code
    )


Endpoint = Callable[[Request], Awaitable[Response]]


def signed_in(*, admin: bool = False) -> Callable[[Handler], Endpoint]:
    """Pages for staff (or admins only): signed-out visitors go to the sign-in page, staff who
    are not admins get 403 on admin pages, and a POST must carry the session's CSRF token."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            dashboard = _dashboard(request)
            session = request.cookies.get(SESSION_COOKIE, "")
            viewer = await dashboard.sign_ins.viewer(session) if session else None
            if viewer is None:
                response = RedirectResponse("/signin", status_code=303)
                response.delete_cookie(SESSION_COOKIE, path="/")
                return response
            csrf = form_token(session)
            if admin and not viewer.admin:
                visit = Visit(request, dashboard, viewer, session, csrf, None)
                return visit.render("refused.html", 403, reason="This page is for admins only.")
            form = None
            if request.method == "POST":
                form = await request.form(max_part_size=LONGEST_UPLOAD)
                sent = form.get("csrf")
                if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf):
                    visit = Visit(request, dashboard, viewer, session, csrf, None)
                    return visit.render(
                        "refused.html",
                        403,
                        reason="This form was out of date or did not come from the dashboard. "
                        "Nothing was changed; please go back, reload the page and try again.",
                    )
            try:
                return await handler(Visit(request, dashboard, viewer, session, csrf, form))
            finally:
                if form is not None:
                    await form.close()  # an upload's spooled file goes with it

        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


# Sign-in ------------------------------------------------------------------------------------


async def sign_in_help(request: Request) -> Response:
    """Say how to sign in: ask the bot for a link."""
    return plain(request, "signin.html", 200, signed_out="signed_out" in request.query_params)


async def sign_in_link(request: Request) -> Response:
    """Show the button that spends a sign-in link (a link preview must not spend it), or say the
    link is no good; POST spends it and opens a session."""
    dashboard = _dashboard(request)
    token = request.path_params["token"]
    address = request.client.host if request.client else "unknown"
    if not dashboard.by_address.allow(address) or not dashboard.by_link.allow(token[:64]):
        return plain(request, "link.html", 429, problem="too many")
    if request.method == "GET":
        if not await dashboard.sign_ins.link_open(token):
            return plain(request, "link.html", 400, problem="no good")
        check = secrets.token_urlsafe(24)
        response = plain(request, "link.html", 200, problem=None, check=check, token=token)
        response.set_cookie(
            SIGN_IN_COOKIE,
            check,
            max_age=15 * 60,
            path=SIGN_IN_PATH,
            httponly=True,
            samesite="strict",
            secure=dashboard.secure_cookies,
        )
        return response
    form = await request.form()
    sent = form.get("check")
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        return plain(request, "link.html", 403, problem="no good")
    spent = await dashboard.sign_ins.spend_link(token)
    if spent is None:
        return plain(request, "link.html", 400, problem="no good")
    session, _viewer = spent
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=dashboard.secure_cookies,
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    return response


@signed_in()
async def sign_out(visit: Visit) -> Response:
    """End the session and forget its cookie."""
    await visit.dashboard.sign_ins.sign_out(visit.session, visit.viewer)
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# Overview and themes ------------------------------------------------------------------------


@signed_in()
async def overview(visit: Visit) -> Response:
    """This week against last, the top themes with their trend, and twelve weeks of answers."""
    services = visit.dashboard.services
    weeks = await services.storage.weekly_figures(week_bounds(services.storage.now()))
    this, last = weeks[-1], weeks[-2]
    return visit.render(
        "overview.html",
        this=this,
        last=last,
        tones=TONES,
        share=share,
        themes=top_themes(weeks),
        weeks=weeks,
        bars=bars(weeks, services.settings.zone),
        zone=services.settings.zone,
    )


@dataclass(frozen=True)
class Filters:
    """The answer filters of the theme, search and export pages, as the form sent them."""

    theme: str = ""
    flow: str = ""
    step: str = ""
    tone: str = ""
    since: str = ""  # a date, YYYY-MM-DD, in the service's time zone
    until: str = ""  # the last day included
    words: str = ""
    page: int = 1
    problem: str = ""

    @classmethod
    def read(cls, params: Mapping[str, str], theme: str = "") -> Filters:
        """The filters from a query string; a date that is not one is dropped with a note."""
        problem = ""
        dates = {}
        for name in ("since", "until"):
            text = params.get(name, "").strip()
            try:
                dates[name] = date.fromisoformat(text).isoformat() if text else ""
            except ValueError:
                dates[name] = ""
                problem = f"{text!r} is not a date such as 2026-11-02; it was left out."
        tone = params.get("tone", "")
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            theme=theme or params.get("theme", ""),
            flow=params.get("flow", ""),
            step=params.get("step", ""),
            tone=tone if tone in TONES else "",
            since=dates["since"],
            until=dates["until"],
            words=params.get("q", "").strip()[:200],
            page=page,
            problem=problem,
        )

    def query(self, dashboard: Dashboard, viewer: Viewer) -> AnswerQuery:
        """What storage is asked for; risk only for those who may see it."""
        zone = dashboard.settings.zone

        def moment(day: str, days_after: int = 0) -> datetime | None:
            if not day:
                return None
            start = datetime.combine(date.fromisoformat(day), time(), zone)
            return start + timedelta(days=days_after)

        return AnswerQuery(
            theme=self.theme or None,
            flow=self.flow or None,
            step=self.step or None,
            tone=self.tone or None,
            start=moment(self.since),
            end=moment(self.until, 1),
            words=self.words or None,
            with_held_back=viewer.sees_risk,
        )

    def link(self, **changes: Any) -> str:
        """This filter's query string, with some values changed (e.g. the page)."""
        values = {
            "theme": self.theme,
            "flow": self.flow,
            "step": self.step,
            "tone": self.tone,
            "since": self.since,
            "until": self.until,
            "q": self.words,
            "page": self.page,
        } | changes
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


@dataclass(frozen=True)
class Shown:
    """An answer as a page shows it: redacted, under the resident's pseudonym."""

    fact: AnswerFact
    text: str
    when: str


async def _answers(visit: Visit, filters: Filters) -> dict[str, Any]:
    """The filtered answers' page, the choices of the filter form, and the paging links."""
    dashboard = visit.dashboard
    services = dashboard.services
    found = await services.storage.find_answers(
        filters.query(dashboard, visit.viewer), PAGE_SIZE, (filters.page - 1) * PAGE_SIZE
    )
    zone = services.settings.zone
    shown = [
        Shown(fact, redact(fact.answer), f"{fact.answered_at.astimezone(zone):%-d %b %Y %H:%M}")
        for fact in found.answers
    ]
    flows = []
    for stored in await services.storage.live_flows():
        try:
            flow = await services.library.get(stored.flow_id, stored.version)
        except (UnknownFlow, FlowFileError):
            continue
        flows.append(flow)
    return {
        "filters": filters,
        "answers": shown,
        "total": found.total,
        "flows": flows,
        "tones": TONES,
        "newer": filters.link(page=filters.page - 1) if filters.page > 1 else None,
        "older": (
            filters.link(page=filters.page + 1) if filters.page * PAGE_SIZE < found.total else None
        ),
        "export": filters.link(page=1),
    }


@signed_in()
async def theme(visit: Visit) -> Response:
    """One theme: answers per week, the tone split, and residents' words, filtered."""
    services = visit.dashboard.services
    name = visit.request.path_params["name"]
    if name not in [known.name for known in services.catalogue.themes]:
        return visit.render("refused.html", 404, reason=f"There is no theme called {name!r}.")
    weeks = await services.storage.weekly_figures(week_bounds(services.storage.now()), theme=name)
    filters = Filters.read(visit.request.query_params, theme=name)
    tone_totals = {tone: sum(week.tones.get(tone, 0) for week in weeks) for tone in TONES}
    return visit.render(
        "theme.html",
        name=name,
        weeks=weeks,
        bars=bars(weeks, services.settings.zone),
        tone_totals=tone_totals,
        all_answers=sum(week.answers for week in weeks),
        share=share,
        zone=services.settings.zone,
        **await _answers(visit, filters),
    )


@signed_in()
async def search(visit: Visit) -> Response:
    """Search across all answers (with the same filters as a theme)."""
    filters = Filters.read(visit.request.query_params)
    context = await _answers(visit, filters)
    if not (filters.words or filters.theme):
        context["answers"] = None  # nothing asked yet: only the form
    themes = [t.name for t in visit.dashboard.services.catalogue.themes]
    return visit.render("search.html", themes=themes, **context)


@signed_in()
async def export(visit: Visit) -> Response:
    """The answers of the current filter as a CSV file that opens cleanly in Excel."""
    dashboard = visit.dashboard
    filters = Filters.read(visit.request.query_params)
    found = await dashboard.services.storage.find_answers(
        filters.query(dashboard, visit.viewer), None
    )
    await dashboard.services.storage.audit(
        visit.viewer.telegram_user_id, "dashboard export", filter=filters.link(), rows=found.total
    )
    body = csv_of(found.answers, dashboard.settings.zone, redact)
    stamp = f"{dashboard.services.storage.now():%Y-%m-%d}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="whatmatters-{stamp}.csv"'},
    )


# You said, we did ---------------------------------------------------------------------------


@signed_in()
async def actions(visit: Visit) -> Response:
    """Every action with its status, residents told and their reactions; a form for a new one."""
    services = visit.dashboard.services
    return visit.render(
        "actions.html",
        summaries=await services.actions.summaries(),
        recent=await services.actions.recent_themes(),
        themes=services.actions.themes,
        statuses=STATUSES,
        zone=services.settings.zone,
    )


@signed_in()
async def action(visit: Visit) -> Response:
    """One action: where it stands, its history, and a form to change it."""
    services = visit.dashboard.services
    action_id = int(visit.request.path_params["action_id"])
    found = await services.storage.action(action_id)
    if found is None:
        return visit.render("refused.html", 404, reason=f"There is no action {action_id}.")
    summary = next(
        (s for s in await services.actions.summaries() if s.action.id == action_id), None
    )
    return visit.render(
        "action.html",
        action=found,
        summary=summary,
        history=await services.storage.action_history(action_id),
        statuses=STATUSES,
        zone=services.settings.zone,
    )


@signed_in()
async def plan_action(visit: Visit) -> Response:
    """Check a new action or a change with the same rules as in Telegram, then either show who
    will be told (to confirm) or publish it when confirmed."""
    desk = visit.dashboard.services.actions
    action_id = int(visit.field("action_id")) if visit.field("action_id").isdigit() else None
    fields: dict[str, Any] = {
        "action_id": action_id,
        "theme": visit.field("theme"),
        "status": visit.field("status"),
        "text": visit.field("text"),
        "reason": visit.field("reason"),
    }
    try:
        plan = await desk.plan(
            theme=(visit.field("theme") or None) if action_id is None else None,
            action_id=action_id,
            status=visit.field("status"),
            text=visit.field("text") if action_id is None or visit.field("text").strip() else None,
            reason=visit.field("reason") or None,
        )
    except ActionError as error:
        return visit.render("action_plan.html", 400, plan=None, problem=str(error), fields=fields)
    if visit.field("confirm") != "yes":
        return visit.render("action_plan.html", plan=plan, problem=None, fields=fields)
    stored = await desk.publish(plan, visit.viewer.telegram_user_id)
    await visit.dashboard.services.storage.audit(
        visit.viewer.telegram_user_id,
        "dashboard action",
        action_id=stored.id,
        status=stored.status,
        told=plan.reach,
    )
    return RedirectResponse(f"/actions/{stored.id}", status_code=303)


# Conversations (admins) ---------------------------------------------------------------------


@signed_in(admin=True)
async def conversations(visit: Visit) -> Response:
    """Every conversation, its live version and any draft; a form to upload a draft."""
    storage = visit.dashboard.services.storage
    return visit.render(
        "conversations.html",
        flows=await storage.live_flows(),
        drafts=await storage.drafted_flows(),
        problems=None,
    )


@signed_in(admin=True)
async def conversation(visit: Visit) -> Response:
    """One conversation: its versions, the live YAML, and the draft with what it would change."""
    services = visit.dashboard.services
    flow_id = visit.request.path_params["flow_id"]
    live = await services.storage.live_flow(flow_id)
    if live is None:
        return visit.render("refused.html", 404, reason=f"There is no conversation {flow_id!r}.")
    versions = []
    number = 1
    while (found := await services.storage.flow_version(flow_id, number)) is not None:
        versions.append(found)
        number += 1
    draft = await services.storage.draft(flow_id)
    changes: list[str] = []
    if draft is not None:
        try:
            old = await services.library.get(flow_id, live.version)
            changes = describe_changes(old, parse_flow(draft, source=f"{flow_id} draft"))
        except FlowFileError as error:
            changes = [str(error)]
    return visit.render(
        "conversation.html",
        flow_id=flow_id,
        live=live,
        versions=versions,
        draft=draft,
        changes=changes,
        zone=services.settings.zone,
    )


@signed_in(admin=True)
async def upload(visit: Visit) -> Response:
    """Check an uploaded flow (a file, or YAML pasted in) and keep it as its draft; each
    mistake is shown with its line."""
    services = visit.dashboard.services
    sent = visit.form.get("file") if visit.form is not None else None
    source = visit.field("yaml")
    filename = "pasted.yaml"
    if isinstance(sent, UploadFile) and sent.filename:
        raw = await sent.read(LONGEST_UPLOAD + 1)
        filename = sent.filename
        try:
            source = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            source = ""
            problems = [f"{filename} → the file is not UTF-8 text"]
            return await _conversations_with(visit, problems, 400)
    if not source.strip():
        return await _conversations_with(visit, ["Choose a YAML file, or paste its text."], 400)
    try:
        flow, _changes = await services.library.save_draft(
            source, filename, visit.viewer.telegram_user_id
        )
    except FlowFileError as error:
        return await _conversations_with(
            visit, [problem.describe(filename) for problem in error.problems], 400
        )
    return RedirectResponse(f"/conversations/{flow.id}", status_code=303)


async def _conversations_with(visit: Visit, problems: list[str], status: int) -> Response:
    storage = visit.dashboard.services.storage
    return visit.render(
        "conversations.html",
        status,
        flows=await storage.live_flows(),
        drafts=await storage.drafted_flows(),
        problems=problems,
    )


@signed_in(admin=True)
async def publish(visit: Visit) -> Response:
    """Make a conversation's draft live."""
    flow_id = visit.request.path_params["flow_id"]
    await visit.dashboard.services.library.publish(flow_id, visit.viewer.telegram_user_id)
    return RedirectResponse(f"/conversations/{flow_id}", status_code=303)


@signed_in(admin=True)
async def roll_back(visit: Visit) -> Response:
    """Make the version before the live one live again."""
    flow_id = visit.request.path_params["flow_id"]
    await visit.dashboard.services.library.roll_back(flow_id, visit.viewer.telegram_user_id)
    return RedirectResponse(f"/conversations/{flow_id}", status_code=303)


routes = [
    Route("/", overview),
    Route("/signin", sign_in_help),
    Route(SIGN_IN_PATH + "{token}", sign_in_link, methods=["GET", "POST"]),
    Route("/signout", sign_out, methods=["POST"]),
    Route("/themes/{name}", theme),
    Route("/search", search),
    Route("/export.csv", export),
    Route("/actions", actions),
    Route("/actions/plan", plan_action, methods=["POST"]),
    Route("/actions/{action_id:int}", action),
    Route("/conversations", conversations),
    Route("/conversations/upload", upload, methods=["POST"]),
    Route("/conversations/{flow_id}", conversation),
    Route("/conversations/{flow_id}/publish", publish, methods=["POST"]),
    Route("/conversations/{flow_id}/rollback", roll_back, methods=["POST"]),
]
