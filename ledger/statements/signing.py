"""PAdES signatures on issued statements (SPEC §5.1), with pyHanko.

Determinism: the same ledger state must give the same document. The unsigned
rendering already does (reportlab's invariant mode, data hashed into ``state_sha256``);
the signature is made deterministic too, so the signed file as a whole is the same on
every re-issue and the register keeps one SHA-256 per statement:

- the signing time is the statement's ``as_of`` (the moment of the ledger state it
  reflects), not the wall clock;
- the file identifier pyHanko would draw at random is derived from the unsigned bytes;
- RSA PKCS#1 v1.5 signatures are deterministic for the same key and bytes.

The issue entry in the audit chain records the unsigned rendering's SHA-256 and the
signing certificate's SHA-256 fingerprint, so verification needs no configuration: a
file is authentic when its bytes are registered, its issue entry is in the chain, and
its signature is intact and made with the certificate the chain names.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization

# Defined with the hand-over, which must not import this package; still importable from here.
from ..statement_signer import DEMO_PKCS12_FILE, SIGNER_INFO_KEY  # noqa: F401


@dataclass(frozen=True)
class StatementSigner:
    """The bureau's signing identity, loaded once from a PKCS#12 file."""

    signer: object  # pyhanko.sign.signers.SimpleSigner
    fingerprint: str  # SHA-256 of the certificate (DER), hex
    subject: str

    @classmethod
    def from_pkcs12(cls, path: str | Path, passphrase: str | bytes | None) -> StatementSigner:
        from pyhanko.sign import signers

        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=secret)
        if signer is None:
            raise ValueError(f"Cannot read a key and certificate from {path} (wrong passphrase?)")
        cert = signer.signing_cert
        return cls(signer, hashlib.sha256(cert.dump()).hexdigest(), cert.subject.human_friendly)


def sign(unsigned: bytes, signer: StatementSigner, signing_time: datetime, *, number: str) -> bytes:
    """The statement with an invisible PAdES signature, the same bytes every time."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    class FixedTimeSigner(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[no-untyped-def]
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = signing_time
            return session

    if signing_time.tzinfo is None:
        signing_time = signing_time.replace(tzinfo=timezone.utc)
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned))
    # pyHanko draws the file identifier at random (both halves when the original has
    # none): derive it from the unsigned bytes instead, keeping an existing first half.
    digest = hashlib.sha256(unsigned).digest()
    try:
        first = writer.prev.trailer["/ID"][0]
        first = generic.ByteStringObject(first.original_bytes if isinstance(first, generic.TextStringObject) else first)
    except KeyError:
        first = generic.ByteStringObject(digest[16:])
    writer._document_id = generic.ArrayObject([first, generic.ByteStringObject(digest[:16])])  # noqa: SLF001
    # pyHanko stamps /ModDate with the wall clock ("now"); the signing time instead.
    meta_class = type(writer._meta)  # noqa: SLF001

    class FixedModDate(meta_class):  # type: ignore[valid-type, misc]
        def __setattr__(self, name: str, value: object) -> None:
            super().__setattr__(name, signing_time if name == "last_modified" and value == "now" else value)

    writer._meta.__class__ = FixedModDate  # noqa: SLF001
    meta = signers.PdfSignatureMetadata(
        field_name="BureauSignature", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"Statement {number} issued by the risk compensation fund", name=signer.subject)
    out = io.BytesIO()
    FixedTimeSigner(meta, signer=signer.signer).sign_pdf(writer, output=out)  # type: ignore[arg-type]
    return out.getvalue()


@dataclass(frozen=True)
class SignatureCheck:
    signed: bool
    valid: bool
    fingerprint: str | None = None
    reason: str = ""


def check_signature(data: bytes) -> SignatureCheck:
    """Is the file's last signature intact, over the whole file, and who made it?

    Trust is not decided here: the caller compares ``fingerprint`` with the
    certificate the audit chain recorded when the statement was issued.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - a damaged or foreign file is simply not signed by us
        return SignatureCheck(False, False, reason="not a readable PDF signature")
    if not signatures:
        return SignatureCheck(False, False, reason="the file carries no signature")
    embedded = signatures[-1]
    cert = embedded.signer_cert
    fingerprint = hashlib.sha256(cert.dump()).hexdigest()
    try:
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[cert]))
    except Exception as exc:  # noqa: BLE001 - any validation failure means "does not hold"
        return SignatureCheck(True, False, fingerprint, f"the signature cannot be validated ({type(exc).__name__})")
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if not (status.intact and status.valid):
        return SignatureCheck(True, False, fingerprint, "the signature does not match the file's content")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureCheck(True, False, fingerprint, "the file was changed after it was signed")
    return SignatureCheck(True, True, fingerprint)


def make_self_signed_pkcs12(path: Path, passphrase: str | None,
                            common_name: str = "Risk Compensation Fund (demo)") -> None:
    """A self-signed RSA certificate and key as PKCS#12, for the demo and tests.

    ``passphrase=None`` stores the key unencrypted (the demo's, like the checkpoint
    key): a passphrase kept in the same folder would protect nothing; the file is
    readable by its owner only."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=3650)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        common_name.encode(), key, cert, None,
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()))
    path.chmod(0o600)
