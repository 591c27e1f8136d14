"""Generic OAuth/OIDC login (oauthenticator) against a local OIDC stand-in, on a real hub."""

from __future__ import annotations

import pytest
import requests
from standins.oidc import OIDCProvider
from vre_testing import start_stack

from odatis_vre.users import sysusers

pytestmark = pytest.mark.slow


def test_oauth_login_with_groups(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    idp = OIDCProvider("odatis-vre", "client-secret-xyz")
    monkeypatch.setenv("ODATIS_VRE_OAUTH_CLIENT_SECRET", "client-secret-xyz")
    stack = start_stack(
        tmp_path,
        {
            "auth": {
                "type": "oauth",
                "oauth": {
                    "client_id": "odatis-vre",
                    "authorize_url": f"{idp.url}/authorize",
                    "token_url": f"{idp.url}/token",
                    "userdata_url": f"{idp.url}/userinfo",
                    "username_claim": "preferred_username",
                    "groups_claim": "groups",
                    "allowed_groups": ["researchers"],
                },
            },
            "services": {"idle_culler": {"enabled": False}},
        },
    )
    try:
        idp.next_user = {"preferred_username": "oscar", "groups": ["researchers"]}
        s = requests.Session()
        r = s.get(f"{stack.url}/hub/oauth_login", timeout=60)
        assert r.status_code == 200 and "/hub/" in r.url and "login" not in r.url, r.url
        model = stack.api("GET", "/users/oscar").json()
        assert model["name"] == "oscar" and "researchers" in model["groups"]
        # the first login made oscar's system account (local mode as root), with a private home
        account = stack.account("oscar")
        assert account.uid != 0 and account.home.stat().st_uid == account.uid
        assert account.home.stat().st_mode & 0o777 == 0o700
        # someone outside the allowed groups is refused
        idp.next_user = {"preferred_username": "eve", "groups": ["visitors"]}
        r = requests.Session().get(f"{stack.url}/hub/oauth_login", timeout=60)
        assert r.status_code == 403
        assert stack.api("GET", "/users/eve").status_code == 404
        assert sysusers.lookup(stack.cfg, "eve") is None
        # a wrong client secret on the hub's side means no login at all
    finally:
        stack.stop()
        idp.close()
