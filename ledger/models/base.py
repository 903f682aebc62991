"""Declarative base shared by every model."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names: migrations and the drift test compare by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        # Fen need 64 bits; SQLite only autoincrements a column typed exactly INTEGER.
        int: BigInteger().with_variant(Integer(), "sqlite"),
        datetime: DateTime(timezone=True),
    }


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
