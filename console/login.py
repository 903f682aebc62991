"""Logging in and out, and the language switch."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import refresh

from api import db
from ledger import passwords

from .auth import CONSOLE_ROLES, load_user, log_in, log_out, safe_next
from .blueprint import bp
from .formatting import date_text
from .i18n import LANGS, t


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for(".claims_queue" if load_user() else ".login"))


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        if load_user() is not None:
            return redirect(safe_next(request.args.get("next")) or url_for(".claims_queue"))
        return render_template("console/login.html", next=safe_next(request.args.get("next")))
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    attempt = passwords.check_login(db.session(), name, password, roles=CONSOLE_ROLES)
    if attempt.ok:
        assert attempt.user is not None
        log_in(attempt.user)
        flash(t("login.welcome", name=attempt.user.name), "success")
        return redirect(safe_next(request.form.get("next")) or url_for(".claims_queue"))
    if attempt.outcome == passwords.LOCKED:
        message = t("login.locked", until=date_text(attempt.locked_until))
    elif attempt.outcome == passwords.NOT_ALLOWED:
        message = t("login.not_allowed")
    else:
        message = t("login.invalid")
    # The failure is an answer (401), and it must still be committed: the failed-login
    # counter and the lock-out are what stop a guesser.
    g.commit_despite_error = True
    status = 403 if attempt.outcome == passwords.NOT_ALLOWED else 401
    return render_template("console/login.html", error=message, username=name,
                           next=safe_next(request.form.get("next"))), status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    log_out()
    flash(t("logout.done"), "info")
    return redirect(url_for(".login"))


@bp.post("/lang")
def set_lang():  # type: ignore[no-untyped-def]
    lang = request.form.get("lang")
    if lang in LANGS:
        session["lang"] = lang
        refresh()  # Flask-Babel caches the request's locale; anything said from here on is in the new one
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))
