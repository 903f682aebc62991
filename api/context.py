"""Request-scoped facts the services need: today's business date."""

from __future__ import annotations

from datetime import date

from flask import current_app

from ledger import clock


def today() -> date:
    return clock.today(current_app.config["BUSINESS_DATE"])
