"""Sign-in: who may use the dashboard, the login page, and the signed-in actor.

Accounts are the city's staff (`staff.csv`, `grid_workers.csv`): an account
signs in with its actor id and a password. Password hashes come from the
city folder's `accounts.csv` (actor_id, password_hash; werkzeug's salted
PBKDF2 hashes); where `city.toml` gives `[accounts] demo_password_hash`, every
other registered actor may sign in with that one password (the demo city
does; a real city deletes the line). The signed-in actor id lives in Flask's
signed session cookie, and every request but the login page needs one:
a Dash callback posted without a session is refused before it runs, so
scoping by role (`access`) always has an actor to scope by.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlparse

import flask
from werkzeug.security import check_password_hash

from onegrid.alerts.actors import Actor, Role, Staff
from onegrid.geo.registry import csv_rows

SESSION_KEY: Final = "actor"
LANG_KEY: Final = "lang"
# Paths served without a session: the login page itself and the page's static files.
PUBLIC_PREFIXES: Final = ("/login", "/logout", "/assets/", "/_favicon.ico")
# role -> the page a user lands on after signing in
HOME: Final = {Role.COMMAND: "/map", Role.DEPARTMENT: "/dispatch", Role.GRID_WORKER: "/worker",
               Role.ENV_OFFICER: "/environment", Role.SUPERVISOR: "/supervision",
               Role.ADMIN: "/supervision"}


class AccountsError(ValueError):
    """The accounts file or setting is bad; the message names file and line."""


@dataclass(frozen=True)
class Accounts:
    """Password hashes by actor id, and the demo password's hash (or None)."""

    staff: Staff
    hashes: Mapping[str, str] = field(default_factory=dict)
    demo_hash: str | None = None

    def check(self, actor_id: str, password: str) -> Actor | None:
        """Return the actor when `password` is theirs, else None (unknown ids too)."""
        actor = self.staff.get(actor_id.strip())
        if actor is None or not password:
            return None
        stored = self.hashes.get(actor.actor_id, self.demo_hash)
        if stored is None or not check_password_hash(stored, password):
            return None
        return actor

    @property
    def is_demo(self) -> bool:
        """Return True when the demo password opens every account."""
        return self.demo_hash is not None


def load_accounts(folder: Path, staff: Staff) -> Accounts:
    """Return the accounts of the city in `folder`; `AccountsError` names a bad line."""
    hashes: dict[str, str] = {}
    path = folder / "accounts.csv"
    if path.exists():
        for line, row in csv_rows(path, ("actor_id", "password_hash"), AccountsError):
            actor_id = (row["actor_id"] or "").strip()
            if staff.get(actor_id) is None:
                raise AccountsError(f"{path}:{line}: {actor_id!r} is not in the staff register")
            hashes[actor_id] = (row["password_hash"] or "").strip()
    demo = None
    toml = folder / "city.toml"
    if toml.exists():
        try:
            demo = tomllib.loads(toml.read_text("utf-8")).get("accounts", {}).get(
                "demo_password_hash")
        except tomllib.TOMLDecodeError as exc:
            raise AccountsError(f"{toml}: {exc}") from None
    return Accounts(staff, hashes, demo)


def signed_in(staff: Staff) -> Actor | None:
    """Return the actor of this request's session, or None (also outside a request)."""
    if not flask.has_request_context():
        return None
    actor_id = flask.session.get(SESSION_KEY)
    return staff.get(actor_id) if actor_id else None


def session_language() -> str:
    """Return the language chosen at sign-in ("zh" by default)."""
    if not flask.has_request_context():
        return "zh"
    return flask.session.get(LANG_KEY) or "zh"


def install(server: flask.Flask, accounts: Accounts, secret_key: bytes,
            login_page) -> None:
    """Add the login and logout routes to `server` and require a session everywhere else.

    `login_page(lang, error, next_path, demo)` returns the login page's HTML.
    """
    server.secret_key = secret_key
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    @server.before_request
    def _require_session():
        path = flask.request.path
        if path.startswith(PUBLIC_PREFIXES) or signed_in(accounts.staff) is not None:
            return None
        if path.startswith("/_dash") or flask.request.method != "GET":
            # A callback without a session: refused before any callback code runs.
            return flask.jsonify({"error": "sign in first"}), 401
        return flask.redirect(f"/login?next={quote(path)}")

    @server.route("/login", methods=["GET", "POST"])
    def _login():
        req = flask.request
        lang = req.values.get("lang") or session_language()
        next_path = _safe_next(req.values.get("next"))
        if req.method == "GET":
            return login_page(lang, "", next_path, accounts.is_demo)
        actor = accounts.check(req.form.get("user", ""), req.form.get("password", ""))
        if actor is None:
            return login_page(lang, "bad_login", next_path, accounts.is_demo), 401
        flask.session.clear()
        flask.session[SESSION_KEY] = actor.actor_id
        flask.session[LANG_KEY] = lang if lang in ("zh", "en") else "zh"
        return flask.redirect(next_path or HOME.get(actor.role, "/"))

    @server.route("/logout")
    def _logout():
        lang = session_language()
        flask.session.clear()
        return flask.redirect(f"/login?lang={lang}")


def _safe_next(path: str | None) -> str | None:
    """Return `path` when it is a local path (never an open redirect), else None."""
    if not path:
        return None
    parsed = urlparse(path)
    if parsed.scheme or parsed.netloc or not path.startswith("/") or path.startswith("//"):
        return None
    return path
