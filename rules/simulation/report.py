"""The answer as bytes: one canonical JSON form, so the same seed gives the same bytes."""

from __future__ import annotations

import json
from typing import Any


def dumps(result: dict[str, Any]) -> bytes:
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


__all__ = ["dumps"]
