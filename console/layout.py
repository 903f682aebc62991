"""What every console page shares: template globals and response headers."""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from .auth import has_role, load_user
from .blueprint import bp
from .i18n import ACTIONS, CATEGORIES, FIELDS, STATUS, current_lang, label, t
from .paging import page_url

#: Sent with every console page: no framing, no foreign scripts or styles, no sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@bp.context_processor
def _globals():  # type: ignore[no-untyped-def]
    return {
        "t": t, "lang": current_lang(), "user": load_user(), "has_role": has_role, "page_url": page_url,
        "status_label": lambda v: label(STATUS, v), "action_label": lambda v: label(ACTIONS, v),
        "category_label": lambda v: label(CATEGORIES, v), "field_label": lambda v: label(FIELDS, v),
        "rec_label": lambda v: t(f"rec.{v}") if v else "",
        "fund_name": current_app.config.get("FUND_NAME", ""),
        # Dates are typed and shown as ISO YYYY-MM-DD whatever the browser's locale
        # (a type=date input would show 06/01/2026 on an English system).
        "iso_date_attrs": Markup('inputmode="numeric" pattern="\\d{4}-\\d{2}-\\d{2}" placeholder="YYYY-MM-DD" '
                                 'maxlength="10" size="10"'),
    }


@bp.after_request
def _headers(response):  # type: ignore[no-untyped-def]
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        # Pages hold money and personal data: not kept in caches, nor shown again by
        # the back button after logging out.
        response.headers["Cache-Control"] = "private, no-store"
    return response
