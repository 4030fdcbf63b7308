"""Consent records signed by the person they are about.

The registry keeps a grant's exact text with its Ed25519 signature, so
this module makes the text once and signs those bytes (needs the
``signing`` extra: ``pip install slate-client[signing]``).
"""

import json
import time
from typing import List, Optional, Sequence

from .types import Signed

GRANT_KIND = "slate.consent.grant/1"
REVOCATION_KIND = "slate.consent.revocation/1"


class Keypair:
    """A person's Ed25519 signing key."""

    def __init__(self, private_key) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> "Keypair":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @property
    def public_hex(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, body: str) -> Signed:
        """``body`` with the signature of its UTF-8 bytes."""
        return {"body": body, "signature": self._key.sign(body.encode("utf-8")).hex()}


def grant_body(
    grant_id: str,
    identity: str,
    grantee: str,
    channels: Sequence[str],
    uses: Sequence[str],
    valid_for_s: int,
    forbidden: Optional[List[str]] = None,
    valid_from: Optional[int] = None,
) -> str:
    """The text of a grant, to sign with :meth:`Keypair.sign`."""
    start = int(time.time()) if valid_from is None else valid_from
    record = {
        "kind": GRANT_KIND,
        "id": grant_id,
        "identity": identity,
        "terms": {
            "grantee": grantee,
            "channels": list(channels),
            "uses": list(uses),
            "forbidden": list(forbidden or []),
            "valid_from": start,
            "valid_until": start + valid_for_s,
        },
    }
    return json.dumps(record, separators=(",", ":"))


def revocation_body(grant_id: str, identity: str, revoked_at: Optional[int] = None) -> str:
    """The text of a revocation, to sign with :meth:`Keypair.sign`."""
    record = {
        "kind": REVOCATION_KIND,
        "grant": grant_id,
        "identity": identity,
        "revoked_at": int(time.time()) if revoked_at is None else revoked_at,
    }
    return json.dumps(record, separators=(",", ":"))
