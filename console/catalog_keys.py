"""A Babel extractor for the console's message-key catalog.

Most console words are looked up by a key built at run time (``label.status.<status>``,
``page.users.<word>``, ``error.<code>``), which no source extractor can see, so the
Chinese catalog — Chinese is the console's first language — is where a key is added,
and ``pybabel extract`` (``babel.cfg``) reads its msgids back into ``messages.pot``
beside the literal ``t("…")`` calls. ``pybabel update`` then keeps every key in both
catalogs instead of marking the run-time ones obsolete, and a key new to Chinese
appears untranslated in English, which ``tests/console/test_translations.py`` refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from babel.messages.pofile import read_po


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    for message in read_po(fileobj):
        if message.id and isinstance(message.id, str):
            yield message.lineno, "gettext", message.id, []
