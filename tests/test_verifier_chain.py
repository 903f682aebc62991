"""The offline chain walk (``verifier.checks.walk_chain``) reads an export's ``audit.chain``
without parsing most entries: what it learns must be exactly what parsing every entry
would give, for any content, and an entry it cannot read that way must be named."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from verifier import checks
from verifier.canonical import GENESIS_HASH, canonical_json, entry_fields

ACTIONS = sorted(checks.MONEY_ACTIONS) + ["statement.issue", "claim.review", "token.issue", "loan.register"]
# Keys and strings that look like the markers the walk reads by position.
TRICKY = ["journal", "action", "seq", "occurred_at", '"journal":[', '{"action":"claim.payout",', 'a"b', "back\\slash",
          "line\nbreak", "材料齐全", "]", '","seq":1}']
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.sampled_from(TRICKY) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(TRICKY) | st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6)
REF = st.builds(lambda n, seed: {"n": n, "id": str(uuid.UUID(int=seed)), "sha256": hashlib.sha256(str(seed).encode()).hexdigest()},
                st.integers(1, 10**7), st.integers(0, 2**64))
ENTRY = st.fixed_dictionaries({
    "action": st.sampled_from(ACTIONS),
    "actor": st.sampled_from(["approver", "cli:root", 'quote"d']),
    "entity_id": st.sampled_from(["BCJ-2026-000001", "42", "x\\y"]),
    "before": JSON_VALUE,
    "after": st.one_of(JSON_VALUE, st.fixed_dictionaries({"sha256": st.sampled_from(["ab" * 32, "cd" * 32])})),
    "journal": st.lists(REF, max_size=3),
})


def chain_bytes(entries: list[dict]) -> tuple[bytes, list[str]]:
    prev, lines, hashes = GENESIS_HASH, [], []
    for seq, entry in enumerate(entries, 1):
        fields = entry_fields(seq, f"2026-06-30T00:00:{seq % 60:02d}.000000+00:00", entry["actor"], entry["action"],
                              "claim", entry["entity_id"], entry["before"], entry["after"], entry["journal"])
        line = (prev + canonical_json(fields)).encode("utf-8")
        lines.append(line)
        prev = hashlib.sha256(line).hexdigest()
        hashes.append(prev)
    return b"".join(line + b"\n" for line in lines), hashes


def reference(data: bytes) -> checks.Chain:
    """Every entry parsed: what the walk must learn."""
    chain = checks.Chain()
    for seq, line in enumerate(data.splitlines(), 1):
        entry = json.loads(line[64:])
        for ref in entry.get("journal") or []:
            chain.journal.append((seq, ref["n"], ref["id"], ref["sha256"]))
        if entry["action"] in checks.MONEY_ACTIONS and not entry.get("journal"):
            chain.uncovered_money.append((seq, entry["action"]))
        elif entry["action"] == "statement.issue":
            chain.issues[entry["entity_id"]] = (seq, (entry["after"] if isinstance(entry["after"], dict) else {}).get("sha256", ""))
    return chain


def walk(data: bytes, tmp_path: Path, block: int) -> checks.Chain:
    path = tmp_path / "audit.chain"
    path.write_bytes(data)
    return checks.walk_chain(checks.read_blocks(path, block), want=range(0, 40))


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(ENTRY, min_size=1, max_size=25), block=st.sampled_from([64, 700, 1 << 18]))
def test_the_walk_learns_what_parsing_every_entry_would(tmp_path_factory, entries, block):
    data, hashes = chain_bytes(entries)
    chain = walk(data, tmp_path_factory.mktemp("chain"), block)
    expected = reference(data)
    assert chain.ok, chain.problems
    assert (chain.checked, chain.last_seq, chain.head_hash) == (len(entries), len(entries), hashes[-1])
    assert chain.hashes_at == {seq: hashes[seq - 1] for seq in range(1, len(entries) + 1)}
    assert chain.journal == expected.journal
    assert chain.uncovered_money == expected.uncovered_money
    assert chain.issues == expected.issues


def test_a_bytewise_change_anywhere_is_named(tmp_path):
    entries = [{"action": a, "actor": "x", "entity_id": "1", "before": None, "after": {"k": "v"}, "journal": []}
               for a in ("claim.review", "token.issue", "claim.review")]
    data, _ = chain_bytes(entries)
    second = data.index(b"\n") + 1
    for position, problem in ((80, "entry 2 does not follow entry 1 (entry 1 altered"),  # entry 1's text
                              (second + 3, "entry 2 does not follow entry 1"),  # entry 2's prev_hash
                              (second + 70, "entry 2 was altered: its text is not")):  # entry 2's opening
        forged = data[:position] + bytes([data[position] ^ 1]) + data[position + 1:]
        chain = walk(forged, tmp_path, 1 << 18)
        assert chain.first_broken == 2 and problem in chain.problems[0]


def forged_chain(texts: list[str]) -> bytes:
    """Entries an insider wrote (with valid hashes) as arbitrary text."""
    prev, out = GENESIS_HASH, b""
    for text in texts:
        line = (prev + text).encode()
        out += line + b"\n"
        prev = hashlib.sha256(line).hexdigest()
    return out


def test_entries_that_are_not_canonical_are_named_not_misread(tmp_path):
    ok = canonical_json(entry_fields(1, "2026-06-30T00:00:00.000000+00:00", "a", "claim.review", "claim", "1",
                                     None, None))
    duplicate = ok.replace('"actor":"a"', '"actor":"a","action":"claim.payout"')  # JSON keeps the last action
    unsorted = '{"action":"token.issue","seq":2,"actor":"a","after":null,"before":null,"entity_id":"1",' \
               '"entity_type":"claim","occurred_at":"2026-06-30T00:00:00.000000+00:00"}'
    for text in (duplicate, unsorted):
        chain = walk(forged_chain([ok, text.replace('"seq":1', '"seq":2')]), tmp_path, 1 << 18)
        assert chain.problems == ["entry 2's text is not the canonical JSON of an audit entry"], text
