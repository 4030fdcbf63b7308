"""The client against a live `slate serve` (tests/python_client.rs starts
it): SLATE_URL, SLATE_TOKEN (an admin's) and SLATE_PHOTO (a face)."""

import os
import unittest
import uuid

from slate_client import Client, Keypair, SlateError, grant_body


class LiveServer(unittest.TestCase):
    def setUp(self) -> None:
        self.url = os.environ["SLATE_URL"]
        self.admin = Client(self.url, os.environ["SLATE_TOKEN"])

    def member(self, name: str) -> Client:
        invite = self.admin.invite(uses=1)
        client = Client(self.url)
        made = client.sign_up(invite["code"], name)
        self.assertTrue(made["token"]["secret"].startswith("slt_"))
        return client

    def test_register_from_a_photo_grant_signal_and_read_a_slate(self) -> None:
        # The admin publishes something to watch.
        for i in range(3):
            self.admin.publish({
                "id": f"py-item-{i}", "creator": "studio", "title": f"clip {i}", "tags": ["py"],
                "duration_s": 12.0, "embedding": [1.0, float(i), 0.5], "provenance": "trust", "consent": "clear",
            })
        ada = self.member("Ada")
        me = ada.me()
        self.assertEqual(me["account"]["role"], "member")
        self.assertIn("feed:signal", me["token"]["scopes"])
        self.assertIsNotNone(ada.rate_limit)

        # A person registers from a photo and signs a grant with her own key.
        key = Keypair.generate()
        identity = ada.register_identity("Grace Hopper", key.public_hex, [os.environ["SLATE_PHOTO"]])
        self.assertEqual(identity["photos"], 1)
        grant_id = "grant-" + uuid.uuid4().hex[:8]
        body = grant_body(grant_id, identity["id"], grantee="studio", channels=["*"], uses=["cameo"], valid_for_s=3600)
        grant = ada.add_grant(key.sign(body))
        self.assertEqual(grant["id"], grant_id)
        verdict = ada.check(identity["id"], grantee="studio", channel="web", use="cameo")
        self.assertTrue(verdict["allowed"], verdict)
        # A grant signed by another key is refused, naming the signature.
        with self.assertRaises(SlateError) as refused:
            ada.add_grant(Keypair.generate().sign(body.replace(grant_id, grant_id + "x")))
        self.assertEqual((refused.exception.status, refused.exception.field), (403, "signature"))

        # Her feed: a slate, then signals on it.
        slate = ada.slate(n=2)
        self.assertEqual(slate["user"], me["account"]["id"])
        self.assertEqual(len(slate["items"]), 2)
        first = slate["items"][0]["impression"]
        out = ada.signals([
            {"event": "e-" + uuid.uuid4().hex, "impression": first, "kind": "watch", "seconds": 5.0},
            {"event": "e-" + uuid.uuid4().hex, "impression": first, "kind": "like"},
        ])
        self.assertEqual(out, {"accepted": 2, "duplicates": 0})

        # Another member can neither signal on her impressions nor see her identity.
        bob = self.member("Bob")
        with self.assertRaises(SlateError) as refused:
            bob.signals([{"event": "e-" + uuid.uuid4().hex, "impression": first, "kind": "like"}])
        self.assertEqual((refused.exception.status, refused.exception.field), (403, "signals[0].impression"))
        self.assertEqual(bob.identities(), [])

    def test_refusals_carry_the_api_error_model(self) -> None:
        stranger = Client(self.url, "slt_not_a_token")
        with self.assertRaises(SlateError) as refused:
            stranger.me()
        self.assertEqual((refused.exception.status, refused.exception.field), (401, "authorization"))
        reader = Client(self.url, self.admin.create_token("py reader", ["feed:read"])["secret"])
        with self.assertRaises(SlateError) as refused:
            reader.signals([{"event": "e1", "impression": "i1", "kind": "like"}])
        self.assertEqual((refused.exception.status, refused.exception.field), (403, "scope"))
        self.assertIn("feed:signal", refused.exception.error)
        with self.assertRaises(SlateError) as refused:
            Client(self.url).sign_up("inv_nothing", "Mallory")
        self.assertEqual((refused.exception.status, refused.exception.field), (403, "invite"))

    def test_the_spec_the_client_is_written_over(self) -> None:
        spec = self.admin.openapi()
        self.assertTrue(spec["openapi"].startswith("3.1"))
        for path in ["/v1/accounts", "/v1/me", "/v1/consent/identities", "/v1/feed", "/v1/feed/signals"]:
            self.assertIn(path, spec["paths"])


if __name__ == "__main__":
    unittest.main()
