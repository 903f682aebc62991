"""Ed25519 checkpoints: create and read keys, sign and check ``{seq, head, issued_at, key_id}``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import checkpoint_message, key_id

CHECKPOINT_FIELDS = ("seq", "head", "issued_at", "key_id", "signature")


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id_of(public_key: Ed25519PublicKey) -> str:
    return key_id(raw_public(public_key))


def load_or_create_private_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The key at ``path`` (PEM, PKCS#8), created there (mode 0600) when absent."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds no Ed25519 private key")
        return key, False
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created with its final mode, so the key is never readable by others even briefly.
    with open(path, "xb", opener=lambda p, flags: __import__("os").open(p, flags, 0o600)) as handle:
        handle.write(pem)
    return key, True


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """A public key as PEM, or as the raw 32 bytes in base64 or hex."""
    data = text.encode() if isinstance(text, str) else text
    if b"BEGIN" in data:
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    stripped = data.strip()
    raw = bytes.fromhex(stripped.decode()) if len(stripped) == 64 else base64.b64decode(stripped, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def sign_checkpoint(private_key: Ed25519PrivateKey, seq: int, head: str, issued_at: str) -> dict[str, Any]:
    kid = key_id_of(private_key.public_key())
    signature = private_key.sign(checkpoint_message(seq, head, issued_at, kid))
    return {"seq": seq, "head": head, "issued_at": issued_at, "key_id": kid,
            "signature": base64.b64encode(signature).decode()}


def checkpoint_problem(checkpoint: dict[str, Any], public_key: Ed25519PublicKey) -> str | None:
    """None when ``checkpoint`` is well formed and signed by ``public_key``; else why not."""
    missing = [name for name in CHECKPOINT_FIELDS if name not in checkpoint]
    if missing:
        return f"checkpoint lacks {', '.join(missing)}"
    if checkpoint["key_id"] != key_id_of(public_key):
        return f"checkpoint at entry {checkpoint['seq']} was signed by key {checkpoint['key_id']}, not {key_id_of(public_key)}"
    try:
        public_key.verify(base64.b64decode(checkpoint["signature"]),
                          checkpoint_message(int(checkpoint["seq"]), checkpoint["head"], checkpoint["issued_at"],
                                             checkpoint["key_id"]))
    except (InvalidSignature, ValueError):
        return f"checkpoint at entry {checkpoint['seq']} has a signature that does not verify"
    return None
