"""Property (SPEC §5.1): whatever the ledger did, a consistent rewrite of history before
the last checkpoint an auditor kept is always detected.

Random operations (contributions, reservations posted or released, plain entries),
checkpoints taken at random points, then one rewrite made the way an insider would:
triggers off, content changed, every later hash recomputed and the head moved, and for
a posting the covering entry's digest and the cached balances adjusted too. Bounded:
a few examples on SQLite, each on its own copy of the migrated database.
"""

from __future__ import annotations

import uuid
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Uuid, bindparam, text

from ledger import auth, checkpoints, journal, subfunds, verification
from ledger.db import make_engine, make_sessionmaker
from ledger.models import Reservation
from verifier.canonical import postings_digest

from .evidence_world import entries, insider, rehash, set_json

DAY = date(2026, 6, 30)
OPERATION = st.one_of(
    st.tuples(st.just("contribute"), st.sampled_from(["GD-PROV", "INS-PICC"]), st.integers(1, 10_000_000)),
    st.tuples(st.just("reserve"), st.sampled_from(["GD-PROV", "INS-PICC"]), st.integers(1, 500_000), st.booleans()),
    st.tuples(st.just("user"), st.just(""), st.just(0)),
    st.tuples(st.just("checkpoint"), st.just(""), st.just(0)),
)


def _run(session, key, operations) -> None:  # type: ignore[no-untyped-def]
    for code in ("GD-PROV", "INS-PICC"):
        subfunds.create_subfund(session, code=code, name=code, owner_type="province", region="440000", actor="t")
        subfunds.contribute(session, code, amount=1_000_000_00, received_on=DAY, reference=f"OPEN-{code}", actor="t")
    session.commit()
    for n, (kind, code, amount, *rest) in enumerate(operations):
        if kind == "contribute":
            subfunds.contribute(session, code, amount=amount, received_on=DAY, reference=f"R-{n}", actor="t")
        elif kind == "reserve":
            fund = subfunds.get_subfund(session, code)
            held = journal.reserve(session, source=subfunds.subfund_account(session, fund, "available"),
                                   hold=subfunds.subfund_account(session, fund, "reserved"), amount=amount,
                                   effective_on=DAY, purpose=f"op {n}")
            if rest[0]:
                journal.post_reservation(session, session.get_one(Reservation, held.id),
                                         to=subfunds.subfund_account(session, fund, "paid"), effective_on=DAY)
            else:
                journal.release_reservation(session, session.get_one(Reservation, held.id), effective_on=DAY)
        elif kind == "user":
            auth.create_user(session, f"user-{n}", ["auditor"], actor="t")
        session.commit()
        if kind == "checkpoint":
            checkpoints.issue(session, key)
            session.commit()
    checkpoints.issue(session, key)  # the one the auditor keeps, at the end
    session.commit()


def _rewrite_posting(connection, seq: int) -> bool:  # type: ignore[no-untyped-def]
    """Raise both legs of the first transaction entry ``seq`` covers, re-digest it, fix balances."""
    entry = entries(connection, seq)[0]
    if not entry["journal"]:
        return False
    ref = entry["journal"][0]
    txn = {"t": uuid.UUID(ref["id"])}  # bound as the column type (SQLite stores 32 hex digits)
    rows = connection.execute(text(
        "SELECT p.id, p.account_id, p.amount, a.code, a.normal_side FROM journal_postings p "
        "JOIN accounts a ON a.id = p.account_id WHERE p.transaction_id = :t").bindparams(bindparam("t", type_=Uuid)),
        txn).all()
    header = connection.execute(text("SELECT kind, effective_on, memo, reference FROM journal_transactions "
                                     "WHERE id = :t").bindparams(bindparam("t", type_=Uuid)), txn).mappings().one()
    legs = []
    for posting_id, account_id, amount, code, side in rows:
        delta = 100 if amount > 0 else -100
        connection.execute(text("UPDATE journal_postings SET amount = :a WHERE id = :i"), {"a": amount + delta, "i": posting_id})
        connection.execute(text("UPDATE accounts SET balance = balance + :d WHERE id = :i"),
                           {"d": delta if side == "debit" else -delta, "i": account_id})
        legs.append((code, amount + delta))
    digest = postings_digest(id=ref["id"], kind=header["kind"], effective_on=str(header["effective_on"])[:10],
                             memo=header["memo"] or "", reference=header["reference"],
                             reverses=None, postings=legs)  # these operations reverse nothing
    set_json(connection, seq, "journal", [{**ref, "sha256": digest}, *entry["journal"][1:]])
    return True


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, min_size=1, max_size=8), data=st.data())
def test_a_consistent_rewrite_before_the_last_checkpoint_is_always_detected(database, operations, data):
    engine = make_engine(database.fresh())
    try:
        key = Ed25519PrivateKey.generate()
        with make_sessionmaker(engine)() as session:
            _run(session, key, operations)
            kept = checkpoints.as_dict(checkpoints.latest(session))
            session.commit()
        with make_sessionmaker(engine)() as session:
            assert verification.run(session, checkpoints=[("kept", kept)], public_key=key.public_key()).ok
        seq = data.draw(st.integers(1, kept["seq"]), label="rewritten entry")
        how = data.draw(st.sampled_from(["content", "posting"]), label="rewrite")
        with insider(engine) as connection:
            if how == "posting" and _rewrite_posting(connection, seq):
                pass
            else:
                entry = entries(connection, seq)[0]
                set_json(connection, seq, "after", {**(entry["after"] or {}), "rewritten": True})
            rehash(connection, seq)
        with make_sessionmaker(engine)() as session:
            report = verification.run(session, checkpoints=[("kept", kept)], public_key=key.public_key())
        assert report.first("chain").ok  # the rewrite was consistent ...
        assert not report.first("checkpoints").ok, report.as_dict()  # ... and still caught
        assert "no longer has the signed hash" in report.first("checkpoints").problem
    finally:
        engine.dispose()
