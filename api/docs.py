"""Browsable API docs served from the app itself: bureau machines are often offline."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, send_from_directory
from flask_smorest import Api
from flask_smorest.spec import openapi_cli
from swagger_ui_bundle import swagger_ui_path

from . import contract, errors


class LedgerApi(Api):
    """flask-smorest's Api with our problem+json handlers and documented errors
    (:mod:`api.contract`) instead of its own ``Error`` schema.

    The OpenAPI document is generated when first asked for (``/api/v1/openapi.json``,
    the docs page, ``flask openapi``), not while the app is built: generating it is
    about half of building the app, which every worker start and every test pays and
    few ever serve. Until then the blueprints are registered with Flask only and
    remembered; the document is the same as flask-smorest builds eagerly (same steps,
    same order)."""

    ERROR_SCHEMA = contract.ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        self._spec = None
        #: What generating the document needs, until it is generated: the spec's
        #: options and the blueprints in registration order.
        self._spec_pending: tuple[dict[str, Any], list[tuple[Any, str, Any]]] | None = None
        self._spec_generating = False
        # Re-entrant: generating reads self.spec; other threads wait for the whole document.
        self._spec_lock = threading.RLock()
        super().__init__(app, **kwargs)

    @property  # type: ignore[override]
    def spec(self) -> Any:
        if self._spec_pending is not None:
            with self._spec_lock:
                if self._spec_pending is not None and not self._spec_generating:
                    self._generate_spec()
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value

    def _init_spec(self, **kwargs: Any) -> None:
        self._spec_pending = (kwargs, [])
        self._app.cli.add_command(openapi_cli)

    def _generate_spec(self) -> None:
        assert self._spec_pending is not None
        kwargs, blueprints = self._spec_pending
        self._spec_generating = True
        try:
            super()._init_spec(**kwargs)
            contract.register_components(self._spec)
            for blp, name, parameters in blueprints:
                blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
                self._spec.tag({"name": name, "description": blp.description})
        finally:
            self._spec_generating = False
        self._spec_pending = None

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        if self._spec_pending is None:
            super().register_blueprint(blp, parameters=parameters, **options)
            return
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._spec_pending[1].append((blp, name, parameters))

    # Registered into the spec when it is generated (flask-smorest replays both lists).
    def register_converter(self, converter: Any, func: Any) -> None:
        self._converters.append((converter, func))
        if self._spec_pending is None and self._spec is not None:
            self._register_converter(converter, func)

    def register_field(self, field: Any, *args: Any) -> None:
        self._fields.append((field, *args))
        if self._spec_pending is None and self._spec is not None:
            self._register_field(field, *args)

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)


def init_app(app: Flask) -> None:
    @app.get("/api/v1/docs/static/<path:filename>")
    def swagger_static(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(swagger_ui_path, filename)
