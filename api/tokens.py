"""A caller's own API tokens: list, rotate the one in use, revoke (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ledger import tokens
from ledger.audit import utc_text
from ledger.models import ApiToken

from . import db
from .auth import ANY_ROLE, actor_name, current_token, current_user, require_roles
from .fields import Int, Text
from .parsing import Blueprint

blp = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens", description="The caller's own API tokens")


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The token's first characters, to recognise it"})
    created_at = fields.String()
    expires_at = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True, metadata={"description": "To the minute"})
    revoked_at = fields.String(allow_none=True)
    current = fields.Boolean(metadata={"description": "The token this request was made with"})


class NewTokenOut(TokenOut):
    token = fields.String(metadata={"description": "rcl_…: the new token, shown only in this answer"})
    replaces = fields.Nested(TokenOut, metadata={"description": "The rotated token, valid until its expires_at"})


class RotateIn(Schema):
    grace_hours = Int(load_default=24, strict=True,
                                 validate=validate.Range(min=0, max=tokens.MAX_ROTATION_GRACE.days * 24),
                                 metadata={"description": "How long the old token keeps working (0: not at all)"})
    name = Text(load_default=None, validate=validate.Length(min=1, max=80),
                         metadata={"description": "Default: the old token's name"})


def _text(moment) -> str | None:  # type: ignore[no-untyped-def]
    return utc_text(moment) if moment is not None else None


def token_dict(row: ApiToken) -> dict:  # type: ignore[type-arg]
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": _text(row.created_at),
            "expires_at": _text(row.expires_at), "last_used_at": _text(row.last_used_at),
            "revoked_at": _text(row.revoked_at), "current": row.id == current_token().id}


@blp.route("")
class Tokens(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.response(200, TokenOut(many=True))
    def get(self):  # type: ignore[no-untyped-def]
        """The caller's live tokens (never their secrets)."""
        return [token_dict(row) for row in tokens.list_tokens(db.session(), user=current_user())]


@blp.route("/rotate")
class TokenRotation(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.arguments(RotateIn)
    @blp.response(201, NewTokenOut)
    def post(self, data):  # type: ignore[no-untyped-def]
        """Replace the token this request is made with: a new token (shown once); the old one
        keeps working for ``grace_hours`` (default 24) so systems can switch over."""
        old = current_token()
        row, token = tokens.rotate(db.session(), old, actor=actor_name(), grace=timedelta(hours=data["grace_hours"]),
                                   name=data["name"])
        return {**token_dict(row), "token": token, "replaces": token_dict(old)}


@blp.route("/<int:token_id>")
class TokenItem(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.response(204)
    def delete(self, token_id: int):  # type: ignore[no-untyped-def]
        """Revoke one of the caller's tokens; refused from the next request on."""
        row = tokens.get_token(db.session(), token_id, user_id=current_user().id)
        tokens.revoke(db.session(), row, actor=actor_name())
