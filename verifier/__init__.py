"""Evidence that needs no database (SPEC §5.1).

This package imports only the standard library and ``cryptography``: the byte forms
that are hashed and signed (:mod:`verifier.canonical`), the checks over plain records
(:mod:`verifier.checks`) and the ``ledger-verify`` command that runs them over an
export directory (:mod:`verifier.cli`). The ledger hashes and signs with this same
code, so the online and the offline verifier cannot disagree about a byte.
"""
