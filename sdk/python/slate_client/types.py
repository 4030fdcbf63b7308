"""The API's shapes, as its OpenAPI document (/v1/openapi.json) gives them."""

from typing import List, Literal, Optional, TypedDict

Role = Literal["admin", "operator", "member"]
Scope = Literal[
    "consent:read", "consent:write", "feed:read", "feed:signal", "feed:publish",
    "feed:operate", "ingest:upload", "jobs:submit", "pipelines:operate", "admin",
]
QuotaName = Literal["generation_seconds", "stored_bytes", "uploads", "feed_items"]
SignalKind = Literal["impression", "watch", "complete", "skip", "like", "share", "hide", "tweak"]


class Limits(TypedDict):
    generation_seconds: int
    stored_bytes: int
    uploads: int
    feed_items: int


class Account(TypedDict):
    id: str
    name: str
    role: Role
    invited_by: Optional[str]
    invite: Optional[str]
    limits: Limits
    disabled_at: Optional[int]
    disabled_reason: Optional[str]
    created_at: int


class TokenInfo(TypedDict):
    id: str
    account: str
    name: str
    prefix: str
    scopes: List[Scope]
    expires_at: Optional[int]
    last_used_at: Optional[int]
    revoked_at: Optional[int]
    created_at: int


class NewToken(TokenInfo):
    secret: str


class InviteInfo(TypedDict):
    id: str
    role: Role
    uses_allowed: int
    uses: int
    expires_at: Optional[int]
    created_by: str
    created_at: int


class NewInvite(InviteInfo):
    code: str


class SignedUp(TypedDict):
    account: Account
    token: NewToken


class Usage(TypedDict):
    quota: QuotaName
    used: int
    limit: int
    resets_at: Optional[int]


class ThisToken(TypedDict):
    id: str
    scopes: List[Scope]


class Me(TypedDict):
    account: Account
    token: ThisToken
    usage: List[Usage]
    rate_limits: dict


class IdentitySummary(TypedDict):
    id: str
    name: str
    public_key: str
    photos: int
    created_at: int
    updated_at: int


class Terms(TypedDict, total=False):
    grantee: str
    channels: List[str]
    uses: List[str]
    forbidden: List[str]
    valid_from: int
    valid_until: int


class Grant(TypedDict):
    kind: str
    id: str
    identity: str
    terms: Terms


class Verdict(TypedDict):
    allowed: bool
    grant: Optional[str]
    reason: str


class Signed(TypedDict):
    body: str
    signature: str


class Term(TypedDict):
    term: str
    value: float


class Ranked(TypedDict):
    item: str
    impression: str
    position: int
    propensity: float
    score: float
    terms: List[Term]
    why: str


class Slate(TypedDict):
    slate: str
    user: str
    arm: str
    policy: str
    items: List[Ranked]


class Signal(TypedDict, total=False):
    event: str
    impression: str
    kind: SignalKind
    seconds: float
    prompt: str


class SignalsOut(TypedDict):
    accepted: int
    duplicates: int


class Steering(TypedDict, total=False):
    more_like: List[str]
    less_tags: List[str]
    more_tags: List[str]
    novelty: float
    follow: List[str]
