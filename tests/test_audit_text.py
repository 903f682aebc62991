"""An entry's hashed text built from its already-encoded images (what a bulk upload
does, encoding each after-image once) is byte for byte the canonical JSON of its
fields that the verifier and the auditors' exports rebuild (SPEC §5.1)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger.audit import entry_row, entry_text, image_text
from verifier.canonical import canonical_json, entry_fields, entry_hash, utc_text

# Text with quotes, backslashes, control characters, CJK and astral characters.
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | texts
           | st.decimals(allow_nan=False, allow_infinity=False, places=2) | st.dates()
           | st.floats(allow_nan=False, allow_infinity=False) | st.uuids())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=12)
images = st.none() | st.dictionaries(texts, values, max_size=6)
journals = st.lists(st.fixed_dictionaries({"n": st.integers(1, 10**9), "id": st.uuids().map(str),
                                           "sha256": st.text("0123456789abcdef", min_size=64, max_size=64)}),
                    max_size=3)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(timezone.utc) | st.none())


def _decoded(image: object) -> object:
    """The image as the database hands it back (what the old code hashed)."""
    return None if image is None else json.loads(canonical_json(image))


@given(seq=st.integers(1, 10**12), moment=moments, actor=texts, action=texts, entity_type=texts, entity_id=texts,
       before=images, after=images, journal=journals)
def test_text_from_encoded_parts_is_the_canonical_json_of_the_fields(seq, moment, actor, action, entity_type,
                                                                    entity_id, before, after, journal):
    expected = canonical_json(entry_fields(seq, utc_text(moment), actor, action, entity_type, entity_id,
                                           _decoded(before), _decoded(after), journal))
    built = entry_text(seq, utc_text(moment), actor, action, entity_type, entity_id, image_text(before),
                       image_text(after), canonical_json(journal or None))
    assert built == expected
    row = entry_row(seq, moment, "0" * 64, actor=actor, action=action, entity_type=entity_type,
                    entity_id=entity_id, before=_decoded(before), after=_decoded(after), journal=journal)
    assert row["canonical"] == expected
    assert row["hash"] == entry_hash("0" * 64, json.loads(expected))


def test_an_image_keyed_by_numbers_is_hashed_as_the_database_returns_it():
    # {2: …, 10: …} sorts 2 before 10; read back, "10" sorts before "2".
    image = {2: "a", 10: date(2026, 1, 2)}
    assert image_text(image) == canonical_json(_decoded(image)) == '{"10":"2026-01-02","2":"a"}'


def test_a_text_differing_in_one_field_is_not_the_canonical_one():
    # The property above must be able to fail: a swapped image changes the text.
    moment = datetime(2026, 6, 30, 12, tzinfo=timezone.utc) + timedelta(microseconds=5)
    fields = entry_fields(7, utc_text(moment), "bank:A", "loan.register", "loan", "12", None,
                          {"principal": Decimal("1.00"), "id": uuid.UUID(int=1)})
    built = entry_text(7, utc_text(moment), "bank:A", "loan.register", "loan", "12",
                       image_text({"principal": "1.00", "id": str(uuid.UUID(int=1))}), "null")
    assert built != canonical_json(fields)
