"""Opening and funding sub-funds at the console (issue 17).

The forms are read with the API's own schemas (``api.subfunds.SubFundIn``,
``ContributionIn``: strict money, ISO dates, code patterns) and booked by the same
services (``ledger.subfunds``), so the sane-date rules of ``ledger.movement_dates``
(no future receipt, none inside a closed statement period) hold here as in the API.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from api import context, db
from api.subfunds import ContributionIn, SubFundIn
from ledger import subfunds as service
from ledger.errors import DomainError
from ledger.models import OWNER_TYPES

from .auth import PAGE_ROLES, current_user, has_role, roles_required
from .blueprint import bp
from .forms import load_form
from .formatting import money_text
from .i18n import Words, error_message, field_errors

#: This page's words, in the catalogs under ``page.subfund_admin.``.
WORDS = Words("page.subfund_admin.")


def w(key: str, **params: Any) -> str:
    text = WORDS.get(key, key)
    return text.format(**params) if params else text


@bp.route("/subfunds/new", methods=["GET", "POST"])
@roles_required(PAGE_ROLES["subfunds_edit"])
def subfund_new():  # type: ignore[no-untyped-def]
    form = {"code": "", "name": "", "owner_type": "city", "region": ""}
    error = None
    if request.method == "POST":
        form.update({k: request.form.get(k, "") for k in form})
        session = db.session()
        try:
            data = load_form(SubFundIn())
            subfund = service.create_subfund(session, actor=current_user().name, **data)
        except ValidationError as err:
            session.rollback()
            error = w("invalid", fields=field_errors(err.messages))  # type: ignore[arg-type]
        except DomainError as exc:
            session.rollback()
            error = error_message(exc)
        else:
            flash(w("created", code=subfund.code), "success")
            return redirect(url_for(".subfund_page", code=subfund.code))
    return render_template("console/subfund_new.html", form=form, error=error, w=w, owner_types=OWNER_TYPES), \
        422 if error else 200


@bp.get("/subfunds/<code>")
@roles_required(PAGE_ROLES["subfunds"])
def subfund_page(code: str):  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        subfund = service.get_subfund(session, code)
    except DomainError:
        abort(404)
    # The newest movements first: what an officer checks after recording one.
    items, after = [], 0
    while True:
        page = service.movements(session, subfund, after=after, limit=200)
        items += page.items
        if page.next_after is None or len(items) >= 1000:
            break
        after = page.next_after
    return render_template("console/subfund.html", subfund=subfund, balances=service.balances(session, subfund),
                           movements=list(reversed(items))[:100], w=w, may_edit=has_role("fund_admin"),
                           today=context.today().isoformat())


@bp.post("/subfunds/<code>/contributions")
@roles_required(PAGE_ROLES["subfunds_edit"])
def subfund_contribute(code: str):  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        data = load_form(ContributionIn())
        result = service.contribute(session, code, actor=current_user().name, today=context.today(), **data)
    except ValidationError as err:
        session.rollback()
        flash(w("invalid", fields=field_errors(err.messages)), "error")  # type: ignore[arg-type]
    except DomainError as exc:
        session.rollback()  # nothing of a refused contribution may be committed
        flash(error_message(exc), "error")
    else:
        if result.created:
            flash(w("contributed", amount=money_text(result.amount), reference=result.reference), "success")
        else:
            flash(w("already"), "info")
    return redirect(url_for(".subfund_page", code=code))
