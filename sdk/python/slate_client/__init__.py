"""A typed client for Slate's HTTP API.

    from slate_client import Client
    slate = Client("http://127.0.0.1:7878", token="slt_...")
    me = slate.me()

Every refusal raises :class:`SlateError` with the same model the API uses:
the HTTP status, the field at fault and what to do (``error``), plus
``retry_after`` on 429. Each response's rate-limit standing is kept in
``Client.rate_limit``.
"""

from .client import Client, RateLimit, SlateError
from .consent import Keypair, grant_body, revocation_body
from . import types

__all__ = ["Client", "RateLimit", "SlateError", "Keypair", "grant_body", "revocation_body", "types"]
