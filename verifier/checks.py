"""Checks over plain records (dicts), shared by ``ledger-admin verify`` and ``ledger-verify``.

Each function returns ``(checked, problems)``: how many things it looked at and a list
of problems in the order found (the first one names what changed first).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonical import GENESIS_HASH, canonical_json
from .signing import checkpoint_problem

#: Audit actions that move money: each must cover the journal transaction(s) it wrote.
#: (``claim.recovery`` may return nothing, so it need not.)
MONEY_ACTIONS = frozenset({"subfund.contribute", "claim.reserve", "claim.payout", "claim.clawback",
                           "bank.debt_repayment"})

_HASHED = ("seq", "occurred_at", "actor", "action", "entity_type", "entity_id", "before", "after")

# What the chain hashes per entry is ``prev_hash + text``, the text being the entry's
# canonical JSON; sorted keys put ``action`` first, so every entry's hashed bytes start
# with 64 hex digits and then these.
_OPENING = '{"action":"'
_OPENING_BYTES = _OPENING.encode()
_PREFIX = 64 + len(_OPENING)


@dataclass
class Chain:
    """What one pass over the audit log learns."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    #: the first entry that no longer matches (None while the chain holds)
    first_broken: int | None = None
    #: the last entry verified
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    #: hashes at the sequence numbers asked for (checkpoints)
    hashes_at: dict[int, str] = field(default_factory=dict)
    #: (entry seq, journal number, transaction id, postings digest) in chain order
    journal: list[tuple[int, int, str, str]] = field(default_factory=list)
    #: statement number -> (entry seq, PDF sha256) of its ``statement.issue`` entry
    issues: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: entries of a money action that cover no transaction
    uncovered_money: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def broken(self, seq: int, problem: str) -> None:
        self.problems.append(problem)
        self.first_broken = seq


# -- the walk ---------------------------------------------------------------------------
#
# Verification hashes the stored bytes themselves (``prev_hash + text``), never a
# re-serialisation: per entry one SHA-256, everything else is done per batch in C
# (joins and comparisons of whole batches). Only when a batch disagrees is it walked
# entry by entry to name the first problem.


def _hash_run(chain: Chain, data: Sequence[bytes], wanted: set[int]) -> bool:
    """Verify one run of consecutive lines of an export, ``data[i]`` being entry
    ``chain.last_seq + 1 + i``'s hashed bytes; False once broken."""
    sha256 = hashlib.sha256
    digests = [sha256(item).hexdigest() for item in data]
    # Each entry must name its predecessor's hash and open as an entry's canonical JSON does.
    openings = b"".join([item[:_PREFIX] for item in data]).decode("latin-1")
    linked = openings == _OPENING.join([chain.head_hash, *digests[:-1]]) + _OPENING
    good = len(data) if linked else _first_bad(chain, data, digests)
    _advance(chain, digests, good, wanted)
    return good == len(data)


def _advance(chain: Chain, digests: list[str], good: int, wanted: set[int]) -> None:
    """The first ``good`` of a run's entries verified: move the walk past them."""
    first = chain.last_seq + 1
    for seq in wanted:
        if first <= seq < first + good:
            chain.hashes_at[seq] = digests[seq - first]
    if good:
        chain.checked += good
        chain.last_seq += good
        chain.head_hash = digests[good - 1]


def _first_bad(chain: Chain, data: Sequence[bytes], digests: list[str]) -> int:
    """Index of the first entry of a run that breaks the chain (its problem recorded)."""
    prev = chain.head_hash
    for index, item in enumerate(data):
        seq = chain.last_seq + 1 + index
        if item[:64].decode("latin-1") != prev:
            # An export stores no hashes: an altered entry shows here, at its successor.
            cause = ("removed, inserted or reordered" if seq == 1
                     else f"entry {seq - 1} altered, or entries removed, inserted or reordered")
            chain.broken(seq, f"entry {seq} does not follow entry {seq - 1} ({cause})")
            return index
        if item[64:_PREFIX] != _OPENING_BYTES:
            chain.broken(seq, f"entry {seq} was altered: its text is not an audit entry's canonical JSON")
            return index
        prev = digests[index]
    return len(data)


def walk_stored(batches: Iterable[Sequence[tuple[int, bytes, bytes]]], *, want: Iterable[int] = ()) -> Chain:
    """Re-hash entries read from the database: batches of ``(seq, hash, text)`` in seq
    order (hash as ASCII, text as stored, UTF-8). Each stored hash must be the SHA-256 of
    the previous one and the text: then the chain holds whatever the prev_hash column
    says (check ``entries`` compares that column too). Stops at the first break."""
    chain = Chain()
    wanted = set(want)
    sha256 = hashlib.sha256
    prev = GENESIS_HASH.encode()
    for rows in batches:
        if not rows:
            continue
        expected = chain.last_seq + 1
        count = len(rows)
        if rows[0][0] != expected or rows[-1][0] != expected + count - 1:
            # Seqs are unique and ordered: only a gap moves the last one.
            count = next(i for i, row in enumerate(rows) if row[0] != expected + i)
        hashes = [row[1] for row in rows[:count]]
        digests = [sha256(before + row[2]).hexdigest() for before, row in zip([prev, *hashes[:-1]], rows)]
        good = count
        if "".join(digests) != b"".join(hashes).decode("latin-1"):
            good = next(i for i, (mine, stored) in enumerate(zip(digests, hashes)) if mine != stored.decode("latin-1"))
            chain.broken(expected + good, f"entry {expected + good} was altered: its content no longer matches its "
                                          "hash (or it does not follow the entry before it)")
        elif count < len(rows):
            chain.broken(expected + count, f"entry {expected + count} is missing "
                                           f"(the next entry found is {rows[count][0]})")
        _advance(chain, digests, good, wanted)
        if good:
            prev = hashes[good - 1]
        if not chain.ok:
            return chain
    return chain


def walk_chain(blocks: Iterable[bytes], *, want: Iterable[int] = (), facts: bool = True) -> Chain:
    """Re-hash an export's ``audit.chain`` (given as blocks of whole lines): each line is
    exactly the bytes an entry's hash is taken over, ``prev_hash + text``, so its SHA-256
    is the next line's first 64 characters. Stops at the first break; also reads what
    the other checks need from the texts (journal coverage, money entries, statement
    issues), parsing JSON only where the canonical form makes that necessary (``facts``
    False: the chain alone, as ``bench/verify.py`` times it separately)."""
    chain = Chain()
    wanted = set(want)
    for block in blocks:
        lines = block.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        if not lines:
            continue
        first = chain.last_seq + 1
        if not _hash_run(chain, lines, wanted):
            good = lines[:chain.last_seq - first + 1]
            if good and facts:
                _read_facts(chain, b"\n".join(good) + b"\n", good, first)
            return chain
        if facts:
            _read_facts(chain, block, lines, first)
    return chain


def read_blocks(path: Path, size: int = 1 << 18) -> Iterator[bytes]:
    """A file in blocks of whole lines (the last line's newline may be missing)."""
    with path.open("rb") as handle:
        rest = b""
        while True:
            block = handle.read(size)
            if not block:
                if rest:
                    yield rest
                return
            block = rest + block if rest else block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut]


# -- what the other checks need, read from the texts -------------------------------------
#
# A canonical text (keys sorted, no whitespace, UTF-8 kept) without a backslash has no
# escapes, so every key appears literally and a string ends at the next quote. Such a
# text opens with its action (checked for every entry by the walk) and ends with
#     X,"occurred_at":"<32 characters>","seq":<seq>}
# where X is ``]`` when the entry covers journal transactions (its last key before
# occurred_at is ``journal``) and ``"`` when it does not (the entity_type string). These
# positions are checked for a whole block at once with strided slices, so the facts are
# read without a per-entry scan; an entry with a backslash, a second ``"action":`` or
# another shape is parsed instead, and must then re-serialise to itself.

_ISSUE = b'{"action":"statement.issue",'
_MONEY = {b'{"action":"' + action.encode() + b'",': action for action in MONEY_ACTIONS}
_MARKED = (_ISSUE, *_MONEY)
_JOURNAL = b'"journal":['
_TAIL = b',"occurred_at":"'
_SEQ = b'","seq":'
#: the tail after X is len(_TAIL) + 32 + len(_SEQ) + digits + 1 bytes
_TAIL_FIXED = 1 + len(_TAIL) + 32 + len(_SEQ) + 1
# One covered transaction split at its quotes: fixed pieces around the id (3), the
# number (6) and the digest (9); a transaction's id is a UUID, its digest 64 hex digits.
_ONE_PERIOD = ((1, b"id"), (2, b":"), (4, b","), (5, b"n"), (7, b"sha256"), (8, b":"))
_REF = rb'\{"id":"([^"]*)","n":(0|[1-9][0-9]*),"sha256":"([^"]*)"\}'
_REF_LIST = re.compile(_REF + rb'(?:,' + _REF + rb')*')
_REFS = re.compile(_REF)


def _read_facts(chain: Chain, block: bytes, lines: list[bytes], first: int) -> None:
    slow: set[int] = set()
    if b"\\" in block:
        slow.update(i for i, line in enumerate(lines) if b"\\" in line)
    if block.count(b'"action":') != len(lines):
        slow.update(i for i, line in enumerate(lines) if line.count(b'"action":') != 1)
    marked = [i for i, line in enumerate(lines) if line.startswith(_MARKED, 64)]
    # Statement issues are rare and need a value from ``after``: parsed.
    slow.update(i for i in marked if lines[i].startswith(_ISSUE, 64))
    covered: set[int] = set()
    start = 0
    while start < len(lines):
        # Runs of lines whose seqs have as many digits, so their tails are as long.
        digits = len(str(first + start))
        end = min(len(lines), 10 ** digits - first)
        _read_journals(chain, lines, start, end, first, digits, slow, covered)
        start = end
    for index in marked:
        if index not in slow and index not in covered:
            line = lines[index]
            chain.uncovered_money.append((first + index, _MONEY[line[64:line.index(b",", 64) + 1]]))
    for index in sorted(slow):
        _read_parsed(chain, lines[index], first + index)
    if slow:  # parsed entries were appended last: back into chain order (stable within an entry)
        chain.journal.sort(key=_seq_of)
        chain.uncovered_money.sort(key=_seq_of)


def _seq_of(fact: tuple[Any, ...]) -> int:
    return fact[0]


def _read_journals(chain: Chain, lines: list[bytes], start: int, end: int, first: int, digits: int,
                   slow: set[int], covered: set[int]) -> None:
    size = _TAIL_FIXED + digits
    tails = b"".join([line[-size:] for line in lines[start:end]])
    count = end - start
    shaped = len(tails) == size * count and all(
        tails[offset::size] == bytes([byte]) * count for offset, byte in enumerate(_TAIL, 1)) and all(
        tails[offset::size] == bytes([byte]) * count for offset, byte in enumerate(_SEQ, 17 + 32)) and (
        tails[size - 1::size] == b"}" * count)
    if shaped:
        # No quote inside occurred_at (the fixed pieces hold six, X one or none); the seq
        # is the line's own.
        expected = "".join(map(str, range(first + start, first + end))).encode()
        shaped = tails.count(b'"') == 6 * count + tails[0::size].count(b'"') and all(
            tails[size - 1 - digits + k::size] == expected[k::digits] for k in range(digits))
    if not shaped:  # find the odd ones out, one by one
        for index in range(start, end):
            line = lines[index]
            tail = line[-size:]
            if not (len(tail) == size and tail[1:17] == _TAIL and b'"' not in tail[17:49] and tail[49:57] == _SEQ
                    and tail[57:] == b"%d}" % (first + index) and tail[:1] in (b"]", b'"')):
                slow.add(start + index - start)
        marks = bytes(lines[i][-size] if i not in slow and len(lines[i]) >= size else 0 for i in range(start, end))
    else:
        marks = tails[0::size]
    if marks.count(b"]") + marks.count(b'"') != count:
        slow.update(start + i for i, mark in enumerate(marks) if mark not in (93, 34))
    found = [start + i for i, mark in enumerate(marks) if mark == 93 and start + i not in slow]
    # The array runs from the last ``"journal":[`` to the tail (a missing one leaves a
    # piece that is no array, so the entry is parsed).
    arrays = [line[line.rfind(_JOURNAL, 0, len(line) - size) + len(_JOURNAL):len(line) - size]
              for line in map(lines.__getitem__, found)]
    read = _arrays(arrays)
    if read is not None:
        covered.update(found)
        numbers, ids, digests = read
        chain.journal.extend(zip([first + i for i in found], numbers, ids, digests))
        return
    for index, array in zip(found, arrays):
        refs = _refs(array)
        if refs is None:
            slow.add(index)
            continue
        covered.add(index)
        chain.journal.extend((first + index, number, txn_id, digest) for number, txn_id, digest in refs)


def _arrays(arrays: list[bytes]) -> tuple[list[int], list[str], list[str]] | None:
    """Numbers, ids and digests of journal arrays that each cover one transaction (the
    usual case), read together: joined and split at their quotes, their pieces repeat
    with period 10 and are checked per position for all arrays at once. None when any
    array has another shape (then each is read on its own)."""
    count = len(arrays)
    pieces = b"\n".join(arrays).split(b'"')
    if not (len(pieces) == 10 * count + 1 and pieces[0] == b"{" and pieces[-1] == b"}" and all(
            pieces[offset::10] == [piece] * count for offset, piece in _ONE_PERIOD) and (
            pieces[10:-1:10] == [b"}\n{"] * (count - 1))):
        return None
    numbers = b"".join(pieces[6::10])
    ids, digests = b"\n".join(pieces[3::10]), b"\n".join(pieces[9::10])
    if (numbers.translate(None, b"0123456789") != b":," * count or b":0" in numbers
            or ids.count(b"\n") != count - 1 or digests.count(b"\n") != count - 1):
        return None
    return (list(map(int, numbers[1:-1].split(b",:"))), ids.decode().split("\n"),
            digests.decode().split("\n"))


def _refs(array: bytes) -> list[tuple[int, str, str]] | None:
    """The transactions in one journal array's content (no escapes), or None if it is not canonical."""
    if _REF_LIST.fullmatch(array) is None:
        return None
    return [(int(number), txn_id.decode(), digest.decode()) for txn_id, number, digest in _REFS.findall(array)]


def _is_count(digits: bytes) -> bool:
    """A JSON natural number: digits, no leading zero."""
    return digits.isdigit() and (digits[:1] != b"0" or len(digits) == 1)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys")
    return dict(pairs)


def _read_parsed(chain: Chain, line: bytes, seq: int) -> None:
    """The facts of one entry read by parsing its text, which must be canonical."""
    text = line[64:].decode("utf-8", "replace")
    try:
        entry = json.loads(text, object_pairs_hook=_no_duplicates)
        canonical = isinstance(entry, dict) and canonical_json(entry) == text and (
            set(entry) - {"journal"} == set(_HASHED))
    except ValueError:
        canonical = False
    if not canonical:
        chain.problems.append(f"entry {seq}'s text is not the canonical JSON of an audit entry")
        if chain.first_broken is None:
            chain.first_broken = seq
        return
    journal = entry.get("journal")
    try:
        refs = [(seq, int(ref["n"]), str(ref["id"]), str(ref["sha256"])) for ref in journal or []]
    except (KeyError, TypeError, ValueError):
        chain.problems.append(f"entry {seq}'s journal is not a list of {{n, id, sha256}}")
        return
    chain.journal.extend(refs)
    action = entry["action"]
    if action in MONEY_ACTIONS and not journal:
        chain.uncovered_money.append((seq, action))
    elif action == "statement.issue":
        after = entry["after"] if isinstance(entry["after"], dict) else {}
        chain.issues[entry["entity_id"]] = (seq, after.get("sha256", ""))


def check_head(chain: Chain, head_seq: int, head_hash: str) -> list[str]:
    if chain.ok and (head_seq != chain.last_seq or head_hash != chain.head_hash):
        chain.first_broken = chain.last_seq + 1
        return [f"the log ends at entry {chain.last_seq} but the head records {head_seq} entries "
                "(entries removed from the end, or the head rewritten)"]
    return []


def check_checkpoints(chain: Chain, checkpoints: Iterable[tuple[str, Mapping[str, Any]]],
                      public_key: Ed25519PublicKey | None) -> tuple[int, list[str]]:
    """Each checkpoint is signed by the bureau's key and its head is still at its seq.

    ``checkpoints`` are ``(where, checkpoint)``: where names it in a problem (a file,
    "stored checkpoint 3"). Needs the chain walked with ``want`` = their seqs.
    """
    checked, problems = 0, []
    for where, checkpoint in checkpoints:
        checked += 1
        if public_key is None:
            problems.append(f"{where}: no public key to check its signature")
            continue
        problem = checkpoint_problem(dict(checkpoint), public_key)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        seq = int(checkpoint["seq"])
        if seq > chain.last_seq and chain.ok:
            problems.append(f"{where}: signed at entry {seq}, but the log now ends at entry {chain.last_seq} "
                            "(entries cut off after it)")
        elif seq in chain.hashes_at and chain.hashes_at[seq] != checkpoint["head"]:
            problems.append(f"{where}: entry {seq} no longer has the signed hash (history up to it was rewritten)")
        elif seq == 0 and checkpoint["head"] != GENESIS_HASH:
            problems.append(f"{where}: a checkpoint at entry 0 must sign the genesis hash")
    return checked, problems


def check_coverage(chain: Chain, digests: Mapping[str, str], head_journal_seq: int | None) -> tuple[int, list[str]]:
    """Every journal transaction covered by exactly one entry, numbered 1, 2, 3, … without
    gaps, with its postings unchanged; every money entry covers a transaction."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    expected = 1
    for seq, number, txn_id, digest in chain.journal:
        if number != expected:
            problems.append(f"journal number {expected} is missing: entry {seq} covers number {number} next")
            expected = number
        expected += 1
        if txn_id in seen:
            problems.append(f"transaction {txn_id} is covered twice (entries {seen[txn_id]} and {seq})")
            continue
        seen[txn_id] = seq
        actual = digests.get(txn_id)
        if actual is None:
            problems.append(f"transaction {txn_id} (journal number {number}, entry {seq}) is missing from the journal")
        elif actual != digest:
            problems.append(f"transaction {txn_id} (journal number {number}) was altered: its postings no longer "
                            f"match the digest in entry {seq}")
    for txn_id in digests:
        if txn_id not in seen:
            problems.append(f"transaction {txn_id} is covered by no audit entry (added outside the application)")
    if head_journal_seq is not None and chain.ok and head_journal_seq != expected - 1:
        problems.append(f"the head records {head_journal_seq} journal transactions, the chain covers {expected - 1}")
    for seq, action in chain.uncovered_money:
        problems.append(f"entry {seq} ({action}) moves money but covers no journal transaction")
    return len(digests), problems


def derive_balances(normal_sides: Mapping[str, str], postings: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Every account's balance from its postings, in its normal direction (debits positive)."""
    totals = dict.fromkeys(normal_sides, 0)
    for code, amount in postings:
        totals[code] = totals.get(code, 0) + int(amount)
    return {code: total if normal_sides.get(code, "debit") == "debit" else -total for code, total in totals.items()}
