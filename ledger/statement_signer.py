"""Where the application hands the ledger the bureau's statement signer (SPEC §5.1):
names kept apart from ``ledger.statements.signing`` so that the hand-over need not
import ``ledger.statements`` (with ``pdf`` and reportlab) — ``ledger-admin`` commands
that issue no statement skip it (``web._configure_statement_signer``)."""

#: Key in ``Session.info`` under which the application hands the signer to the ledger.
SIGNER_INFO_KEY = "statement_signer"

#: The demo's self-signed certificate, beside the checkpoint key (instance/signing/ by
#: default). Statements are signed with it when STATEMENT_SIGNING_P12 names no other.
DEMO_PKCS12_FILE = "bureau-demo.p12"
