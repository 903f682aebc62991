"""Browsable API docs served from the app itself: bureau machines are often offline."""

from __future__ import annotations

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from . import contract, errors


class LedgerApi(Api):
    """flask-smorest's Api with our problem+json handlers and documented errors
    (:mod:`api.contract`) instead of its own ``Error`` schema."""

    ERROR_SCHEMA = contract.ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _init_spec(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super()._init_spec(*args, **kwargs)
        contract.register_components(self.spec)

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)


def init_app(app: Flask) -> None:
    @app.get("/api/v1/docs/static/<path:filename>")
    def swagger_static(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(swagger_ui_path, filename)
