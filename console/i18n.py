"""Every string the console shows, in Chinese (the default) and English.

The words live in gettext catalogs (``console/translations/<lang>/LC_MESSAGES/messages.po``,
compiled to ``.mo``), read through Flask-Babel. The catalogs are *message-key* catalogs:
a msgid is a short name (``nav.claims``, ``label.status.paid``, ``page.users.title``) and
both languages translate it, so call sites keep their keys; templates call ``t("key")``. Domain errors are
turned into sentences here from their stable ``code`` and ``extra`` (the ledger's own
messages are English, for API clients and logs), so a bureau officer reads
“子基金 GD-PROV 可用余额不足” rather than a code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from flask import has_app_context, has_request_context, session
from flask_babel import Babel, get_translations

from ledger.errors import DomainError

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def _select_locale() -> str:
    return current_lang()


def init_app(app: Any) -> None:
    """Flask-Babel on the application; the locale follows the console's language switch."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANG)
    Babel(app, locale_selector=_select_locale, default_translation_directories=str(TRANSLATIONS_DIR))


@lru_cache(maxsize=None)
def _catalog(lang: str) -> Translations:
    # Outside an application (a CLI command formatting an error, a unit test) the
    # catalogs are read directly; inside one Flask-Babel's cached translations are used.
    return Translations.load(str(TRANSLATIONS_DIR), [lang])


def _translations() -> Any:
    return get_translations() if has_app_context() else _catalog(current_lang())


def lookup(msgid: str) -> str | None:
    """The catalog's text for ``msgid`` in the session's language, or None if it has none."""
    text = _translations().gettext(msgid)
    return None if text == msgid else text


class Words(Mapping[str, str]):
    """The catalog entries filed under ``prefix`` (msgid = prefix + key), as a mapping of
    key -> text in the session's language. The keys come from the Chinese catalog, which
    holds every msgid (``tests/console/test_translations.py``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @cached_property
    def _keys(self) -> dict[str, None]:  # an ordered set
        ids = _catalog(DEFAULT_LANG)._catalog  # msgid -> text, as gettext reads the .mo
        return dict.fromkeys(k[len(self.prefix):] for k in ids if isinstance(k, str) and k.startswith(self.prefix))

    def __getitem__(self, key: str) -> str:
        if key not in self._keys:
            raise KeyError(key)
        return lookup(self.prefix + key) or key

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


STATUS = Words("label.status.")
ACTIONS = Words("label.action.")
CATEGORIES = Words("label.category.")
#: Form field names as people read them (marshmallow and domain errors name fields).
FIELDS = Words("label.field.")


def current_lang() -> str:
    if has_request_context():
        lang = session.get("lang")
        if lang in LANGS:
            return lang
    return DEFAULT_LANG


def t(key: str, **params: Any) -> str:
    """The string ``key`` in the session's language, formatted with ``params``."""
    text = lookup(key)
    if text is None:
        return key
    return text.format(**params) if params else text


def label(table: Mapping[str, str], value: str | None) -> str:
    """A status, action, category or field name in the session's language (unknown: as is)."""
    if value is None:
        return ""
    return table.get(value, value)


def field_errors(errors: Mapping[str, Any]) -> str:
    """``{"amount": ["at most 10.00"]}`` -> "金额：at most 10.00" (messages translated where known)."""
    zh = current_lang() == "zh"
    parts = []
    for name, messages in errors.items():
        if isinstance(messages, Mapping):
            messages = [f"{k}: {v}" for k, v in messages.items()]
        elif isinstance(messages, str):
            messages = [messages]
        shown = [lookup(f"fieldmsg.{m}") or str(m) for m in messages]
        parts.append(f"{label(FIELDS, name)}{'：' if zh else ': '}{('；' if zh else '; ').join(shown)}")
    return ("；" if zh else "; ").join(parts)


def error_message(exc: DomainError) -> str:
    """A domain error as a sentence in the session's language."""
    from .formatting import money_text

    lang = current_lang()
    extra = dict(exc.extra)
    params: dict[str, Any] = {"code": exc.code, "fields": field_errors(exc.errors) if exc.errors else exc.message}
    account = str(extra.get("account", ""))
    params["subfund"] = extra.get("subfund") or (account.split(":")[1] if account.count(":") >= 2 else account)
    params["shortfall"] = money_text(extra["shortfall"]) if "shortfall" in extra else ""
    params["status"] = label(STATUS, extra.get("current_status")) if extra.get("current_status") else ""
    params["npl_ratio"] = extra.get("npl_ratio", "")
    params["threshold"] = extra.get("threshold", "")
    params["missing"] = "、".join(str(k) for k in extra.get("missing", []))
    # A sentence the English catalog lacks is "{message}": the ledger's own English.
    params["message"] = exc.message
    template = lookup(f"error.{exc.code}")
    if template is None:
        if lang == "en":
            return exc.message
        # A code without a Chinese sentence yet: say what failed, keep the ledger's detail.
        detail = field_errors(exc.errors) if exc.errors else exc.message
        return f"操作未能完成（{exc.code}）：{detail}"
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return exc.message
