"""API tokens of every bank and user, and their revocation by the bureau (issue 15).

The fund administrator revokes a token a bank reports lost (or one that misbehaves);
revocation takes effect on the token's next request. Auditors see the list.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from api import db
from ledger import tokens
from ledger.errors import DomainError
from ledger.models import User

from .auth import current_user, roles_required
from .blueprint import bp
from .i18n import error_message, t

VIEW_ROLES = frozenset({"fund_admin", "auditor"})
REVOKE_ROLES = frozenset({"fund_admin"})


@bp.get("/tokens")
@roles_required(VIEW_ROLES)
def tokens_page():  # type: ignore[no-untyped-def]
    rows = tokens.list_tokens(db.session())
    return render_template("console/tokens.html", rows=rows, may_revoke=bool(current_user().roles & REVOKE_ROLES))


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required(REVOKE_ROLES)
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        row = tokens.revoke(session, tokens.get_token(session, token_id), actor=current_user().name)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(t("tokens.revoked", prefix=row.prefix, user=row.user.name), "success")
    return redirect(url_for("console.tokens_page"))


@bp.post("/users/<int:user_id>/tokens")
@roles_required(REVOKE_ROLES)
def issue_token(user_id: int):  # type: ignore[no-untyped-def]
    """A new named token for a user (a bank's second system, a replacement): shown once."""
    from .users import show_token, w

    session = db.session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        _row, secret = tokens.issue(session, user, name=request.form.get("name", ""), actor=current_user().name)
    except DomainError as exc:
        session.rollback()
        flash(error_message(exc), "error")
        return redirect(url_for("console.users_page"))
    return show_token(user.name, secret, w("issued", user=user.name))
