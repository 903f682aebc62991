"""Banks and users at the console (issue 17): admit a bank (its first API user and token
come with it), create users with roles (a bank role excludes every bureau role:
``ledger.auth`` refuses the mix), and set console passwords. Tokens are issued and
revoked on the tokens page (``console.tokens``).

A token's secret is rendered once, in the answer to the post that made it, with
``Cache-Control: no-store``; it is never put in the (signed, not encrypted) session
cookie through a flash message.
"""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, validate
from sqlalchemy import select

from api import db
from api.fields import Code, Text
from ledger import auth, passwords, tokens
from ledger.errors import DomainError
from ledger.models import ROLES, Bank, User

from .auth import PAGE_ROLES, current_user, has_role, roles_required
from .blueprint import bp
from .forms import load_form
from .i18n import Words, error_message, field_errors

#: This page's words, in the catalogs under ``page.users.``.
WORDS = Words("page.users.")


def w(key: str, **params: Any) -> str:
    text = WORDS[key]
    return text.format(**params) if params else text


class BankIn(Schema):
    code = Code(required=True, validate=validate.Regexp(r"^[A-Z0-9][A-Z0-9_-]{1,39}\Z"))
    name = Text(required=True, validate=validate.Length(min=1, max=200))


class UserIn(Schema):
    name = Text(required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,79}\Z"))
    bank = Code(validate=validate.Length(max=40))


def show_token(user: str, token: str, message: str):  # type: ignore[no-untyped-def]
    """The one page that ever shows a token's secret."""
    response = make_response(render_template("console/token_issued.html", user=user, token=token,
                                             message=message, w=w))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/users")
@roles_required(PAGE_ROLES["users"])
def users_page():  # type: ignore[no-untyped-def]
    session = db.session()
    users = session.scalars(select(User).order_by(User.name)).all()
    banks = session.scalars(select(Bank).order_by(Bank.code)).all()
    live: dict[int, int] = {}
    for row in tokens.list_tokens(session):
        live[row.user_id] = live.get(row.user_id, 0) + 1
    return render_template("console/users.html", users=users, banks=banks, live=live, roles=ROLES, w=w,
                           may_edit=has_role("fund_admin"))


def _refused(session, exc: Exception):  # type: ignore[no-untyped-def]
    session.rollback()  # nothing of a refused form may be committed
    if isinstance(exc, ValidationError):
        flash(w("invalid", fields=field_errors(exc.messages)), "error")  # type: ignore[arg-type]
    else:
        flash(error_message(exc) + (" " + field_errors(exc.errors) if getattr(exc, "errors", None) else ""), "error")  # type: ignore[arg-type]
    return redirect(url_for(".users_page"))


@bp.post("/banks/new")
@roles_required(PAGE_ROLES["users_edit"])
def bank_new():  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        data = load_form(BankIn())
        bank, token = auth.create_bank(session, data["code"], data["name"], actor=current_user().name)
    except (ValidationError, DomainError) as exc:
        return _refused(session, exc)
    user = f"bank-{bank.code}"
    return show_token(user, token, w("bank_created", code=bank.code, user=user))


@bp.post("/users/new")
@roles_required(PAGE_ROLES["users_edit"])
def user_new():  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        data = load_form(UserIn())
        roles = [r for r in request.form.getlist("roles") if r]
        user, token = auth.create_user(session, data["name"], roles, actor=current_user().name,
                                       bank_code=data.get("bank"))
    except (ValidationError, DomainError) as exc:
        return _refused(session, exc)
    return show_token(user.name, token, w("user_created", user=user.name))


@bp.post("/users/<int:user_id>/password")
@roles_required(PAGE_ROLES["users_edit"])
def user_password(user_id: int):  # type: ignore[no-untyped-def]
    session = db.session()
    user = session.get(User, user_id)
    if user is None:
        return _refused(session, ValidationError({"user": ["not found"]}))
    if user.bank_id is not None:
        flash(w("bank_console"), "error")
        return redirect(url_for(".users_page"))
    try:
        passwords.set_password(session, user.name, request.form.get("password", ""), actor=current_user().name)
    except DomainError as exc:
        return _refused(session, exc)
    flash(w("password_set", name=user.name), "success")
    return redirect(url_for(".users_page"))


__all__ = ["show_token", "users_page", "w"]
