"""Browsable API docs served from the app itself: bureau machines are often offline."""

from __future__ import annotations

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from . import errors

DESCRIPTION = """\
JSON API of the science-and-technology credit risk compensation fund
(科技信贷风险补偿资金池). Amounts are decimal strings in yuan with at most two
decimals (`"1200000.00"`); dates are ISO `YYYY-MM-DD`. Authenticate with
`Authorization: Bearer <token>`. Errors are `application/problem+json` with a stable
`code` and per-field `errors`.
"""


class LedgerApi(Api):
    """flask-smorest's Api with our problem+json handlers instead of its own."""

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)


def init_app(app: Flask) -> None:
    @app.get("/api/v1/docs/static/<path:filename>")
    def swagger_static(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(swagger_ui_path, filename)
