"""Liveness and database reachability."""

from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import text

from ledger.migrate import current_revision, head_revision

from . import context, db
from .parsing import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class HealthOut(Schema):
    status = fields.String(metadata={"example": "ok"})
    database = fields.String(metadata={"example": "postgresql"})
    schema_revision = fields.String()
    schema_up_to_date = fields.Boolean()
    business_date = fields.Date()


@blp.route("/health")
@blp.doc(security=[])
@blp.response(200, HealthOut)
def health():  # type: ignore[no-untyped-def]
    """Service and database status (no token needed)."""

    connection = db.session().connection()
    connection.execute(text("SELECT 1"))
    revision = current_revision(connection) or ""
    return {
        "status": "ok",
        "database": connection.dialect.name,
        "schema_revision": revision,
        "schema_up_to_date": revision == head_revision(),
        "business_date": context.today(),
    }
