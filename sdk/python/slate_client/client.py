"""The HTTP client: one method per API operation, standard library only."""

import json
import mimetypes
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import types


class SlateError(Exception):
    """A refusal, as the API gives it: ``{"error", "field"}`` with its status."""

    def __init__(self, status: int, error: str, field: Optional[str], retry_after: Optional[int] = None):
        super().__init__(f"HTTP {status}" + (f" ({field})" if field else "") + f": {error}")
        self.status = status
        self.error = error
        self.field = field
        self.retry_after = retry_after


@dataclass
class RateLimit:
    """Where the caller stands after a response (the ``x-ratelimit-*`` headers)."""

    limit: int
    remaining: int
    reset: int
    policy: str


class Client:
    """Slate's API at ``base_url``, as the holder of ``token`` (``slt_…``)."""

    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.rate_limit: Optional[RateLimit] = None

    # Transport

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Dict[str, Any]] = None,
        raw: Optional[Tuple[bytes, str]] = None,
    ) -> Any:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json"}
        data = None
        if raw is not None:
            data, headers["Content-Type"] = raw
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                self._note_rate(response.headers)
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            self._note_rate(e.headers)
            text = e.read()
            try:
                reply = json.loads(text)
            except ValueError:
                reply = {"error": text.decode("utf-8", "replace") or e.reason, "field": None}
            retry = e.headers.get("retry-after")
            raise SlateError(e.code, reply.get("error", ""), reply.get("field"), int(retry) if retry else None) from None

    def _note_rate(self, headers) -> None:
        if headers is not None and headers.get("x-ratelimit-limit") is not None:
            self.rate_limit = RateLimit(
                limit=int(headers["x-ratelimit-limit"]),
                remaining=int(headers.get("x-ratelimit-remaining", 0)),
                reset=int(headers.get("x-ratelimit-reset", 0)),
                policy=headers.get("ratelimit-policy", ""),
            )

    # Accounts

    def sign_up(self, invite: str, name: str) -> types.SignedUp:
        """Makes an account with an invite code; the client then acts as it."""
        made: types.SignedUp = self._request("POST", "/v1/accounts", {"invite": invite, "name": name})
        self.token = made["token"]["secret"]
        return made

    def me(self) -> types.Me:
        return self._request("GET", "/v1/me")

    def tokens(self) -> List[types.TokenInfo]:
        return self._request("GET", "/v1/me/tokens")["tokens"]

    def create_token(self, name: str, scopes: Sequence[types.Scope], expires_in: Optional[int] = None) -> types.NewToken:
        body: Dict[str, Any] = {"name": name, "scopes": list(scopes)}
        if expires_in is not None:
            body["expires_in"] = expires_in
        return self._request("POST", "/v1/me/tokens", body)

    def revoke_token(self, token_id: str) -> types.TokenInfo:
        return self._request("DELETE", f"/v1/me/tokens/{urllib.parse.quote(token_id, safe='')}")

    def invite(self, uses: int = 1, role: types.Role = "member", expires_in: Optional[int] = None) -> types.NewInvite:
        """(admin) An invite for ``uses`` accounts; its code is shown this once."""
        body: Dict[str, Any] = {"uses": uses, "role": role}
        if expires_in is not None:
            body["expires_in"] = expires_in
        return self._request("POST", "/v1/admin/invites", body)

    def accounts(self) -> List[types.Account]:
        return self._request("GET", "/v1/admin/accounts")["accounts"]

    def disable(self, account: str, reason: str) -> types.Account:
        return self._request("POST", f"/v1/admin/accounts/{urllib.parse.quote(account, safe='')}/disable", {"reason": reason})

    def enable(self, account: str) -> types.Account:
        return self._request("POST", f"/v1/admin/accounts/{urllib.parse.quote(account, safe='')}/enable")

    # Consent

    def register_identity(
        self,
        name: str,
        public_key: str,
        photos: Iterable[Union[str, os.PathLike, Tuple[str, bytes]]],
    ) -> types.IdentitySummary:
        """Registers a person from photos (paths, or ``(file name, bytes)``),
        sent as a multipart form; the server embeds each face."""
        boundary = "slate-" + uuid.uuid4().hex
        parts: List[bytes] = []

        def part(headers: str, content: bytes) -> None:
            parts.append(f"--{boundary}\r\n{headers}\r\n\r\n".encode("utf-8") + content + b"\r\n")

        part('Content-Disposition: form-data; name="name"', name.encode("utf-8"))
        part('Content-Disposition: form-data; name="public_key"', public_key.encode("utf-8"))
        for photo in photos:
            if isinstance(photo, tuple):
                file_name, content = photo
            else:
                file_name = os.path.basename(os.fspath(photo))
                with open(photo, "rb") as f:
                    content = f.read()
            kind = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
            part(
                f'Content-Disposition: form-data; name="photo"; filename="{file_name}"\r\nContent-Type: {kind}',
                content,
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode("utf-8")
        return self._request(
            "POST", "/v1/consent/identities", raw=(body, f"multipart/form-data; boundary={boundary}")
        )

    def identities(self) -> List[types.IdentitySummary]:
        return self._request("GET", "/v1/consent/identities")

    def add_grant(self, signed: types.Signed) -> types.Grant:
        return self._request("POST", "/v1/consent/grants", dict(signed))

    def revoke_grant(self, signed: types.Signed) -> dict:
        return self._request("POST", "/v1/consent/revocations", dict(signed))

    def grants(self, identity: str) -> list:
        return self._request("GET", f"/v1/consent/identities/{urllib.parse.quote(identity, safe='')}/grants")

    def check(self, identity: str, grantee: str, channel: str, use: str, context: Sequence[str] = ()) -> types.Verdict:
        body = {"identity": identity, "grantee": grantee, "channel": channel, "use": use, "context": list(context)}
        return self._request("POST", "/v1/consent/check", body)

    # Feed

    def slate(self, n: int = 10, user: Optional[str] = None) -> types.Slate:
        """A ranked slate: the caller's own feed unless ``user`` is given."""
        return self._request("GET", "/v1/feed", query={"n": n, "user": user})

    def signals(self, signals: Sequence[types.Signal]) -> types.SignalsOut:
        return self._request("POST", "/v1/feed/signals", {"signals": list(signals)})

    def steering(self, user: str) -> types.Steering:
        return self._request("GET", f"/v1/feed/users/{urllib.parse.quote(user, safe='')}/steering")

    def steer(self, user: str, dials: types.Steering) -> types.Steering:
        return self._request("PUT", f"/v1/feed/users/{urllib.parse.quote(user, safe='')}/steering", dict(dials))

    def publish(self, item: Dict[str, Any]) -> Dict[str, str]:
        return self._request("POST", "/v1/feed/items", item)

    # Uploads

    def upload_clip(self, name: str, content: bytes, shot: str, model: str, prompt: str = "") -> dict:
        query = urllib.parse.urlencode({"shot": shot, "model": model, "prompt": prompt})
        path = f"/v1/ingest/clips/{urllib.parse.quote(name, safe='')}?{query}"
        return self._request("PUT", path, raw=(content, "application/octet-stream"))

    def openapi(self) -> Dict[str, Any]:
        return self._request("GET", "/v1/openapi.json")
