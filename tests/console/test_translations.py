"""The console's gettext catalogs (issue 17, item 3): complete in both languages, the
committed ``.mo`` files are the compiled ``.po`` files, and pages read them."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import session
from flask_babel import refresh

import console
from console.formatting import money_text
from console.i18n import STATUS, error_message, label, t
from ledger.errors import DomainError

TRANSLATIONS = Path(console.__file__).parent / "translations"
LANGS = ("zh", "en")


def _messages(catalog) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.id: m.string for m in catalog if m.id}


def _translated(catalog) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.id: m.string for m in catalog if m.id and m.string}  # what `pybabel compile` writes


def _po(lang: str) -> dict[str, str]:
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return _messages(read_po(f))


@pytest.mark.parametrize("lang", LANGS)
def test_committed_mo_is_the_compiled_po(lang):
    # A .po edited without `pybabel compile` would leave pages showing the old words.
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = read_po(f)
    assert not [m.id for m in po if m.id and m.fuzzy], "fuzzy entries are not compiled"
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = read_mo(f)
    assert _translated(mo) == _translated(po)


def test_every_message_is_translated_in_both_languages():
    zh, en = _po("zh"), _po("en")
    assert set(zh) == set(en)
    assert [k for k, v in zh.items() if not v] == []
    assert [k for k, v in en.items() if not v] == []


def test_english_catalog_has_no_chinese_and_placeholders_agree():
    import re

    zh, en = _po("zh"), _po("en")
    # The language switch names the other language in its own script.
    assert [k for k, v in en.items() if re.search(r"[\u4e00-\u9fff]", v)] == ["switch_lang"]
    fields = re.compile(r"\{(\w*)\}")
    # English may fall back to the ledger's own message ({message}); otherwise the same fields.
    mismatched = [k for k in zh if set(fields.findall(en[k])) - {"message"} - set(fields.findall(zh[k]))]
    assert mismatched == []


def test_the_session_language_picks_the_catalog(app):
    with app.test_request_context("/console/"):
        assert t("nav.claims") == "理赔队列"
        assert label(STATUS, "paid") == "已支付"
        assert money_text(123456789) == "¥1,234,567.89"
        session["lang"] = "en"
        refresh()  # as the language switch does: Flask-Babel caches a request's locale
        assert t("nav.claims") == "Claims"
        assert t("page_of", page=2, pages=3, total=41) == "Page 2 of 3, 41 in all"
        assert label(STATUS, "paid") == "paid"
        assert label(STATUS, "no-such-status") == "no-such-status"
        assert t("no.such.key") == "no.such.key"
        assert money_text(-1200) == "-CN¥12.00"  # Babel's English for the yuan


def test_errors_without_english_words_keep_the_ledgers_message(app):
    exc = DomainError("The ledger does not balance.", code="ledger_inconsistent")
    with app.test_request_context("/console/"):
        assert error_message(exc) == "账务数据不一致，已拒绝出具对账单，请联系管理员。"
        session["lang"] = "en"
        refresh()  # as the language switch does: Flask-Babel caches a request's locale
        assert error_message(exc) == "The ledger does not balance."
