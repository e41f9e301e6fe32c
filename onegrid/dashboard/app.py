"""The Dash app: one entry point, one login, the shell around the pages.

`create_app(ctx)` builds the app around a `DashboardContext`; nothing is
global, so tests and `onegrid up` can run several. Every request but the
login page needs a signed-in session (`auth`). The shell is a header (the
product, the navigation the user's role may open, the signed-in user, the
中文/English switch, sign-out), the page, and one live tick that every page's
callbacks can listen to. Which page a path shows, and whether the user's
role may open it, is decided here on the server; the pages themselves are
in `pages/`. Serving (a thread for `onegrid up`, blocking for `serve`) is
`server`.
"""

from __future__ import annotations

import functools
import html as htmlesc
import os
from pathlib import Path
from typing import Final

from dash import Dash, Input, Output, dcc, html, no_update

from onegrid.alerts.actors import Actor
from onegrid.dashboard import auth, ids, pacing
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGE_LABELS, LANGUAGES, text
from onegrid.dashboard.pages import PAGES, Page

ASSETS: Final = Path(__file__).resolve().parent / "assets"
_INDEX: Final = """<!DOCTYPE html>
<html lang="zh">
<head>{%metas%}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def create_app(ctx: DashboardContext) -> Dash:
    """Return the dashboard app over `ctx` (sign-in required, every page registered)."""
    app = Dash(__name__, title=f"{text('zh', 'product')} · {text('zh', 'title')}",
               update_title=None, index_string=_INDEX, suppress_callback_exceptions=True,
               assets_folder=str(ASSETS), serve_locally=True)
    auth.install(app.server, ctx.accounts, ctx.secret_key or os.urandom(32),
                 functools.partial(login_page, ctx))
    app.layout = functools.partial(shell_layout, ctx, app)
    _register_shell(app, ctx)
    for page in PAGES:
        page.register(app, ctx)
    pacing.install(app)
    return app


def shell_layout(ctx: DashboardContext, app: Dash):
    """Return the shell for the signed-in user of this request."""
    actor = auth.signed_in(ctx.directory.staff)
    lang = auth.session_language()
    if actor is None:  # only reached outside a request (layout validation)
        return html.Div(id=ids.PAGE)
    languages = [{"label": LANGUAGE_LABELS[k], "value": k} for k in LANGUAGES]
    phone = " og-phone" if actor.role == "grid_worker" else ""
    return html.Div([
        dcc.Location(id=ids.URL),
        html.Header([
            html.Div([html.Span(text(lang, "product"), className="og-product", id=ids.PRODUCT),
                      html.Span(_city_name(ctx, lang), className="og-city", id=ids.CITY)],
                     className="og-brand"),
            html.Nav(nav_links(actor, lang, "/"), id=ids.NAV, className="og-nav"),
            html.Div([
                html.Span(_user_label(actor, lang), id=ids.USER, className="og-user"),
                dcc.RadioItems(languages, lang, id=ids.LANGUAGE, inline=True,
                               persistence=True, persistence_type="local",
                               className="og-lang"),
                html.A(text(lang, "sign_out"), href="/logout", id=ids.SIGN_OUT,
                       className="og-signout"),
            ], className="og-account"),
        ], className="og-header"),
        html.Div(text(lang, "read_only") if ctx.sender is None else "", id=ids.BANNER,
                 className="og-banner"),
        html.Main(id=ids.PAGE, className="og-page"),
        *pacing.shell_parts(app, ctx.refresh_ms),
    ], className=f"og-shell{phone}")


def nav_links(actor: Actor, lang: str, path: str) -> list:
    """Return the navigation links of the pages `actor` may open, the current one marked."""
    return [dcc.Link(text(lang, p.nav), href=p.path,
                     className="og-navlink og-active" if p.matches(path) else "og-navlink")
            for p in PAGES if p.nav and p.allows(actor)]


def page_for(path: str | None) -> Page | None:
    """Return the page that serves `path`, or None."""
    path = path or "/"
    return next((p for p in PAGES if p.matches(path)), None)


def render(ctx: DashboardContext, actor: Actor, path: str | None, lang: str | None):
    """Return (page content, navigation, user label, sign-out text, product, city, banner)
    for `path`.

    `/` goes to the role's home page; a page the role may not open shows a
    sentence, not the page (its callbacks check the role again).
    """
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    path = path or "/"
    if path == "/":
        path = auth.HOME.get(actor.role, "/map")
    page = page_for(path)
    if page is None:
        content = html.Div(text(lang, "not_found_page"), className="og-empty")
    elif not page.allows(actor):
        content = html.Div(text(lang, "not_allowed_page"), className="og-empty")
    else:
        content = page.layout(ctx, actor, lang, path)
    return (content, nav_links(actor, lang, path), _user_label(actor, lang),
            text(lang, "sign_out"), text(lang, "product"), _city_name(ctx, lang),
            text(lang, "read_only") if ctx.sender is None else "")


def _register_shell(app: Dash, ctx: DashboardContext) -> None:
    @user_callback(app, ctx,
                   [Output(ids.PAGE, "children"), Output(ids.NAV, "children"),
                    Output(ids.USER, "children"), Output(ids.SIGN_OUT, "children"),
                    Output(ids.PRODUCT, "children"), Output(ids.CITY, "children"),
                    Output(ids.BANNER, "children")],
                   [Input(ids.URL, "pathname"), Input(ids.LANGUAGE, "value")],
                   fallback=lambda: (html.Div(text("zh", "error"), className="og-error"),
                                     *([no_update] * 6)))
    def route(actor: Actor, path: str | None, lang: str | None):
        return render(ctx, actor, path, lang)


def _user_label(actor: Actor, lang: str) -> str:
    return text(lang, "signed_in_as", name=actor.name, role=text(lang, f"role_{actor.role}"))


def _city_name(ctx: DashboardContext, lang: str) -> str:
    return ctx.registry.name_en if lang == "en" else ctx.registry.name_zh


def login_page(ctx: DashboardContext, lang: str, error: str, next_path: str | None,
               demo: bool) -> str:
    """Return the login page's HTML in `lang` (a plain form posted to /login)."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    esc = htmlesc.escape
    other = "en" if lang == "zh" else "zh"
    hint = ""
    if demo:
        hint = (f'<p class="og-hint">{esc(_DEMO_HINT[lang])}</p>')
    error_html = f'<p class="og-login-error" id="login-error">{esc(text(lang, error))}</p>' \
        if error else ""
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(text(lang, 'product'))} · {esc(text(lang, 'sign_in'))}</title>
<link rel="stylesheet" href="/assets/onegrid.css"></head>
<body class="og-login-body"><form class="og-login" method="post" action="/login">
<h1>{esc(text(lang, 'product'))}</h1><h2>{esc(_city_name(ctx, lang))}</h2>
<input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="next" value="{esc(next_path or '')}">
<label>{esc(text(lang, 'user'))}<input name="user" id="login-user" autocomplete="username"
 required autofocus></label>
<label>{esc(text(lang, 'password'))}<input name="password" id="login-password" type="password"
 autocomplete="current-password" required></label>
{error_html}<button type="submit" id="login-submit">{esc(text(lang, 'sign_in'))}</button>
<a class="og-login-lang" href="/login?lang={other}">{esc(LANGUAGE_LABELS[other])}</a>
{hint}</form></body></html>"""


_DEMO_HINT: Final = {
    "zh": "演示城市：账号见 README（如 CC-01 指挥中心、GW-00001 网格员），密码 onegrid。",
    "en": "Demo city: accounts are listed in the README (e.g. CC-01 command centre, "
          "GW-00001 grid worker); the password is onegrid.",
}
