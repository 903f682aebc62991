"""Page-number pagination of ``select()`` statements for the console's lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 25


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(session: Session, stmt: Select[Any], page: int, per_page: int = PER_PAGE) -> Page:
    """``stmt`` must already be ordered; a page past the end is simply empty."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total)


def page_url(page: int, endpoint: str | None = None) -> str:
    """This page of the current list (or of ``endpoint``'s), its filters kept."""
    from flask import request, url_for

    args = {k: v for k, v in request.args.items() if v and k != "page"}
    view_args = {} if endpoint else (request.view_args or {})
    return url_for(endpoint or request.endpoint or "console.index", **view_args, **args, page=page)
