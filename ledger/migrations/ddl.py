"""Trigger DDL shared by revisions, for SQLite and PostgreSQL.

Kept beside the revisions (not in the models) because a revision must keep producing
the same DDL even when application code changes later.
"""

from __future__ import annotations

from alembic import op


def _dialect() -> str:
    return op.get_bind().dialect.name


def create_forbid_function() -> None:
    if _dialect() == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
            END $$;
            """
        )


def drop_forbid_function() -> None:
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_forbid_change()")


def append_only(table: str) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on ``table``."""
    if _dialect() == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def drop_append_only(table: str) -> None:
    if _dialect() == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def journal_integrity() -> None:
    """Postings are written first, then their header; the header's insert checks that
    they balance, and no posting may join a transaction whose header exists."""
    if _dialect() == "postgresql":
        op.execute(
            """
            CREATE FUNCTION journal_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE n bigint; total bigint;
            BEGIN
              SELECT count(*), coalesce(sum(amount), 0) INTO n, total
                FROM journal_postings WHERE transaction_id = NEW.id;
              IF n < 2 OR total <> 0 THEN
                RAISE EXCEPTION 'journal transaction % is not balanced (% postings, sum %)', NEW.id, n, total
                  USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END $$;
            """
        )
        op.execute(
            """
            CREATE FUNCTION journal_posting_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF EXISTS (SELECT 1 FROM journal_transactions WHERE id = NEW.transaction_id) THEN
                RAISE EXCEPTION 'journal transaction % is already written: postings cannot be added',
                  NEW.transaction_id USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER journal_transactions_balanced BEFORE INSERT ON journal_transactions "
            "FOR EACH ROW EXECUTE FUNCTION journal_check_balanced()"
        )
        op.execute(
            "CREATE TRIGGER journal_postings_sealed BEFORE INSERT ON journal_postings "
            "FOR EACH ROW EXECUTE FUNCTION journal_posting_sealed()"
        )
    else:
        op.execute(
            """
            CREATE TRIGGER journal_transactions_balanced BEFORE INSERT ON journal_transactions
            WHEN (SELECT count(*) FROM journal_postings WHERE transaction_id = NEW.id) < 2
              OR (SELECT coalesce(sum(amount), 0) FROM journal_postings WHERE transaction_id = NEW.id) <> 0
            BEGIN SELECT RAISE(ABORT, 'journal transaction is not balanced'); END
            """
        )
        op.execute(
            """
            CREATE TRIGGER journal_postings_sealed BEFORE INSERT ON journal_postings
            WHEN EXISTS (SELECT 1 FROM journal_transactions WHERE id = NEW.transaction_id)
            BEGIN SELECT RAISE(ABORT, 'journal transaction is already written: postings cannot be added'); END
            """
        )


def drop_journal_integrity() -> None:
    op.execute("DROP TRIGGER IF EXISTS journal_transactions_balanced" + (" ON journal_transactions" if _dialect() == "postgresql" else ""))
    op.execute("DROP TRIGGER IF EXISTS journal_postings_sealed" + (" ON journal_postings" if _dialect() == "postgresql" else ""))
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS journal_check_balanced()")
        op.execute("DROP FUNCTION IF EXISTS journal_posting_sealed()")


def exclusive_bank_role() -> None:
    """Refuse a user_roles row that would give a bank user another role, or a bureau
    user the bank role (SPEC §4: bank roles are exclusive), whatever writes it."""
    message = "the bank role is exclusive: a bank user holds no other role"
    if _dialect() == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION ledger_exclusive_bank_role() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = NEW.user_id AND r.role <> NEW.role
                         AND (r.role = 'bank' OR NEW.role = 'bank')) THEN
                RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END $$;
            """
        )
        op.execute("CREATE TRIGGER user_roles_exclusive_bank BEFORE INSERT OR UPDATE ON user_roles "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_exclusive_bank_role()")
    else:
        for verb in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER user_roles_exclusive_bank_{verb.lower()} BEFORE {verb} ON user_roles "
                "WHEN EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = NEW.user_id AND r.role <> NEW.role "
                "AND (r.role = 'bank' OR NEW.role = 'bank')) "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def drop_exclusive_bank_role() -> None:
    if _dialect() == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS user_roles_exclusive_bank ON user_roles")
        op.execute("DROP FUNCTION IF EXISTS ledger_exclusive_bank_role()")
    else:
        op.execute("DROP TRIGGER IF EXISTS user_roles_exclusive_bank_insert")
        op.execute("DROP TRIGGER IF EXISTS user_roles_exclusive_bank_update")


#: loan_book_totals column -> the loan statuses whose outstanding it sums
#: (ledger.loans.statuses, frozen here as this revision's DDL).
_BOOK_FIGURES = {
    "live_outstanding": "'active', 'defaulted', 'claimed'",
    "npl_outstanding": "'defaulted', 'claimed', 'compensated'",
    "book_outstanding": "'active', 'defaulted', 'claimed', 'compensated'",
}


def loan_book_totals_sums() -> str:
    """SELECT scheme_id, bank_id and each figure, summed from the loans (backfill)."""
    sums = ", ".join(f"COALESCE(SUM(CASE WHEN status IN ({statuses}) THEN outstanding ELSE 0 END), 0)"
                     for statuses in _BOOK_FIGURES.values())
    return f"SELECT scheme_id, bank_id, {sums} FROM loans GROUP BY scheme_id, bank_id"


def loan_book_totals_follow() -> None:
    """Move a loan's (scheme, bank) totals by what an UPDATE of its status or outstanding
    changed: one atomic ``x = x + delta`` on the totals row (which the loan's
    registration created), in the UPDATE's own transaction, whatever code issued it."""
    moves = ",\n".join(
        f"{column} = {column} + CASE WHEN NEW.status IN ({statuses}) THEN NEW.outstanding ELSE 0 END"
        f" - CASE WHEN OLD.status IN ({statuses}) THEN OLD.outstanding ELSE 0 END"
        for column, statuses in _BOOK_FIGURES.items())
    update = f"UPDATE loan_book_totals SET {moves} WHERE scheme_id = NEW.scheme_id AND bank_id = NEW.bank_id;"
    if _dialect() == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION loan_book_totals_follow() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              {update}
              RETURN NULL;
            END $$;
            """
        )
        op.execute("CREATE TRIGGER loans_book_totals AFTER UPDATE OF status, outstanding ON loans FOR EACH ROW "
                   "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.outstanding IS DISTINCT FROM NEW.outstanding) "
                   "EXECUTE FUNCTION loan_book_totals_follow()")
    else:
        op.execute(f"CREATE TRIGGER loans_book_totals AFTER UPDATE OF status, outstanding ON loans "
                   f"WHEN OLD.status IS NOT NEW.status OR OLD.outstanding IS NOT NEW.outstanding "
                   f"BEGIN {update} END")


def drop_loan_book_totals_follow() -> None:
    if _dialect() == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS loans_book_totals ON loans")
        op.execute("DROP FUNCTION IF EXISTS loan_book_totals_follow()")
    else:
        op.execute("DROP TRIGGER IF EXISTS loans_book_totals")


def account_days_follow() -> None:
    """Keep an account's latest day closing equal to its balance.

    The journal's balance UPDATE always sets ``last_day`` (never earlier than it was),
    and no posting is dated after an account's ``last_day``: so after every such
    UPDATE the closing of ``last_day`` *is* the new balance, for a movement dated
    then and for a back-dated one alike (the journal moves the earlier days' closings
    of a back-dated movement itself). ``UPDATE OF last_day``: a statement that sets the
    balance alone (a repair, a test corrupting it) leaves the closings to the journal.
    """
    upsert = ("INSERT INTO account_days (account_id, day, closing) VALUES (NEW.id, NEW.last_day, NEW.balance) "
              "ON CONFLICT (account_id, day) DO UPDATE SET closing = excluded.closing;")
    if _dialect() == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION account_days_follow() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              {upsert}
              RETURN NULL;
            END $$;
            """
        )
        op.execute("CREATE TRIGGER accounts_day_closing AFTER UPDATE OF last_day ON accounts FOR EACH ROW "
                   "WHEN (NEW.last_day IS NOT NULL) EXECUTE FUNCTION account_days_follow()")
    else:
        op.execute(f"CREATE TRIGGER accounts_day_closing AFTER UPDATE OF last_day ON accounts "
                   f"WHEN NEW.last_day IS NOT NULL BEGIN {upsert} END")


def drop_account_days_follow() -> None:
    if _dialect() == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS accounts_day_closing ON accounts")
        op.execute("DROP FUNCTION IF EXISTS account_days_follow()")
    else:
        op.execute("DROP TRIGGER IF EXISTS accounts_day_closing")
