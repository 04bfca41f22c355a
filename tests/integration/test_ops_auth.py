"""The ops API's authorizer: the static token, Cognito access tokens, and 401 for anything else."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from chalicelib import dependencies
from tests.helpers import role_token
from tools.template import ROOT

PATH = "/identities/telegram/nobody"


def call(client: Any, authorization: str | None) -> int:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return int(client.http.get(PATH, headers=headers).status_code)


def call_path(client: Any, method: str, path: str, token: str) -> int:
    return int(getattr(client.http, method)(path, headers={"Authorization": f"Bearer {token}"}).status_code)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", "Basic ZGV2Om9wcw==", "bearer dev-only-ops-api-token-x", "Bearer a.b.c"],
)
def test_missing_or_wrong_credentials_are_401(client, aws, authorization) -> None:
    assert call(client, authorization) == 401


def test_the_ops_token_is_accepted_in_any_case_of_scheme(client, aws, secrets) -> None:
    assert call(client, f"Bearer {secrets['ops_api_token']}") == 404  # authorised; nobody has that identity
    assert call(client, f"bearer {secrets['ops_api_token']}") == 404


@pytest.fixture
def cognito(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="socialcrm-ops")["UserPool"]["Id"]
    app_client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="ops", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )
    client_id = app_client["UserPoolClient"]["ClientId"]
    for group in ("agent", "supervisor", "admin", "marketing"):
        idp.create_group(GroupName=group, UserPoolId=pool)

    def login(username: str, in_group: bool, group: str = "agent") -> dict[str, str]:
        idp.admin_create_user(UserPoolId=pool, Username=username)
        idp.admin_set_user_password(UserPoolId=pool, Username=username, Password="Sup3r-secret!", Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group if in_group else "marketing")
        parameters = {"USERNAME": username, "PASSWORD": "Sup3r-secret!"}
        result = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=parameters)
        auth = result["AuthenticationResult"]
        return {"AccessToken": auth["AccessToken"], "IdToken": auth["IdToken"]}

    tokens, outsider = login("ana", in_group=True), login("bob", in_group=False)
    other = idp.create_user_pool(PoolName="someone-else")["UserPool"]["Id"]
    monkeypatch.setenv("SOCIALCRM_COGNITO_USER_POOL_ID", pool)
    monkeypatch.setenv("SOCIALCRM_COGNITO_CLIENT_IDS", "")
    dependencies.reset()
    return {
        "access": tokens["AccessToken"],
        "id_token": tokens["IdToken"],
        "outsider": outsider["AccessToken"],
        "client_id": client_id,
        "pool": pool,
        "other_pool": other,
    }


def test_a_cognito_access_token_of_our_pool_is_accepted(client, cognito) -> None:
    assert call(client, f"Bearer {cognito['access']}") == 404


def test_a_token_of_another_pool_is_refused(client, cognito, monkeypatch) -> None:
    monkeypatch.setenv("SOCIALCRM_COGNITO_USER_POOL_ID", cognito["other_pool"])
    dependencies.reset()
    assert call(client, f"Bearer {cognito['access']}") == 401


def test_a_user_in_no_role_group_is_refused(client, cognito) -> None:
    assert call(client, f"Bearer {cognito['outsider']}") == 401


def test_an_id_token_is_not_an_access_token(client, cognito) -> None:
    assert call(client, f"Bearer {cognito['id_token']}") == 401


def test_only_the_allowed_app_clients(client, cognito, monkeypatch) -> None:
    monkeypatch.setenv("SOCIALCRM_COGNITO_CLIENT_IDS", "someotherclient")
    dependencies.reset()
    assert call(client, f"Bearer {cognito['access']}") == 401
    monkeypatch.setenv("SOCIALCRM_COGNITO_CLIENT_IDS", f"someotherclient,{cognito['client_id']}")
    dependencies.reset()
    assert call(client, f"Bearer {cognito['access']}") == 404


def test_a_signed_out_user_is_refused(client, cognito) -> None:
    boto3.client("cognito-idp").global_sign_out(AccessToken=cognito["access"])
    assert call(client, f"Bearer {cognito['access']}") == 401


def test_the_authorizer_names_who_called(client, aws, secrets) -> None:
    from app import app

    route = app.routes["/identities/{platform}/{user_id}"]["GET"]
    assert route.authorizer is not None
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {secrets['ops_api_token']}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/identities/x/y",
    }
    policy = route.authorizer(event, None)  # type: ignore[operator]  # a ChaliceAuthorizer is callable
    assert policy["principalId"] == "ops-token"
    assert policy["context"] == {"role": "supervisor"}
    assert json.dumps(policy["policyDocument"]).count("Allow") == 1


def test_every_route_but_the_webhooks_and_health_needs_the_ops_authorizer() -> None:
    """A new ops route without `authorizer=` would be open to the internet: none may slip in. The
    console's pages have no API Gateway authorizer (a browser carries a cookie, not a bearer
    token): each is a `page` with its least role, checked in the app, except the sign-in pages."""
    from app import app

    open_routes = set()
    for path, methods in app.routes.items():
        for method, route in methods.items():
            if route.authorizer is None:
                open_routes.add(f"{method} {path}")
                if path.startswith("/console") and f"{method} {path}" not in CONSOLE_PUBLIC:
                    assert getattr(route.view_function, "required_role", None), f"{method} {path} is not a page"
    allowed = ("/webhooks/", "/health", "/console")
    assert all(entry.split(" ", 1)[1].startswith(allowed) for entry in open_routes), open_routes
    assert {"GET /customers/{customer_id}/export", "DELETE /customers/{customer_id}"}.isdisjoint(open_routes)
    assert "POST /webhooks/meta" in open_routes  # the platforms sign instead


# The console's routes anyone may reach: signing in and out, and its scripts and styles.
CONSOLE_PUBLIC = {
    "GET /console/sign-in",
    "POST /console/sign-in",
    "GET /console/auth/callback",
    "POST /console/sign-out",
    "GET /console/signed-out",
    "GET /console/static/{name}",
}


# Every ops route and the least role it needs: a new route fails here until it says which.
ROLES = {
    "GET /identities/{platform}/{user_id}": "agent",
    "GET /customers/{customer_id}": "agent",
    "GET /customers/{customer_id}/interactions": "agent",
    "GET /customers": "agent",
    "GET /customers/{customer_id}/links": "agent",
    "POST /customers/{customer_id}/links": "agent",
    "DELETE /customers/{customer_id}/links/{other_id}": "agent",
    "DELETE /customers/{customer_id}/suggestions/{other_id}": "agent",
    "GET /customers/{customer_id}/history": "agent",
    "GET /cases": "agent",
    "GET /cases/{case_id}": "agent",
    "POST /cases/{case_id}/status": "agent",
    "POST /cases/{case_id}/assign": "agent",
    "POST /cases/{case_id}/viewing": "agent",
    "POST /cases/{case_id}/replies": "agent",
    "GET /cases/{case_id}/replies": "agent",
    "GET /cases/{case_id}/reply-options": "agent",
    "GET /replies/{reply_id}": "agent",
    "GET /alerts": "agent",
    "POST /alerts/{alert_id}/ack": "agent",
    "PUT /customers/{customer_id}/segments": "supervisor",
    "GET /audit": "supervisor",
    "GET /insights/overview": "supervisor",
    "GET /insights/reputation": "supervisor",
    "GET /insights/roi": "supervisor",
    "GET /insights/topics": "supervisor",
    "GET /insights/segments": "supervisor",
    "GET /customers/{customer_id}/export": "admin",
    "DELETE /customers/{customer_id}": "admin",
    "GET /unread": "admin",
    "POST /unread/replay": "admin",
}
ORDER = ("agent", "supervisor", "admin")


def ops_routes() -> dict[str, Any]:
    from app import app

    return {
        f"{method} {path}": route
        for path, methods in app.routes.items()
        for method, route in methods.items()
        if not path.startswith(("/webhooks/", "/health", "/console"))  # the console: tests/console
    }


def test_every_ops_route_declares_the_role_it_needs() -> None:
    declared = {name: route.view_function.required_role.label for name, route in ops_routes().items()}
    assert declared == ROLES


@pytest.mark.parametrize("route", sorted(ROLES))
def test_a_role_below_the_one_a_route_needs_is_refused(client, aws, route) -> None:
    method, path = route.split(" ", 1)
    concrete = path.replace("{", "").replace("}", "")  # any value: the role is checked before anything else
    needed = ORDER.index(ROLES[route])
    for role in ORDER:
        status = int(
            getattr(client.http, method.lower())(
                concrete, headers={"Authorization": f"Bearer {role_token(role)}", "Content-Type": "application/json"}
            ).status_code
        )
        if ORDER.index(role) < needed:
            assert status == 403, (route, role)
        else:
            assert status not in (401, 403), (route, role, status)


def test_the_shared_token_is_off_unless_the_stage_enables_it_and_never_an_admin(
    client, aws, secrets, monkeypatch
) -> None:
    token = f"Bearer {secrets['ops_api_token']}"
    assert call(client, token) == 404  # the local stack enables it (SOCIALCRM_OPS_TOKEN_ROLE=supervisor)
    from chalicelib.config import ConfigError, Settings
    from chalicelib.services.access import OpsAccess
    from tests.helpers import Secrets

    unset = Settings.from_env({k: v for k, v in os.environ.items() if k != "SOCIALCRM_OPS_TOKEN_ROLE"})
    assert unset.ops_token_role is None  # as in every deployed stage unless explicitly enabled
    assert OpsAccess(Secrets(secrets), unset.ops_token_role).principal(token) is None

    with pytest.raises(ConfigError, match="agent or supervisor"):
        Settings.from_env({**os.environ, "SOCIALCRM_OPS_TOKEN_ROLE": "admin"})
    stages = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]
    for stage in stages.values():  # no deployed stage, dev included, accepts it
        assert "SOCIALCRM_OPS_TOKEN_ROLE" not in stage["environment_variables"]


def _admin(secrets: dict[str, Any]) -> str:
    email: str = next(email for email, user in secrets["console_users"].items() if user["role"] == "admin")
    return email


def test_a_role_taken_away_ends_with_the_authorizers_cache_not_the_tokens_hour(client, aws, secrets) -> None:
    """The role is the user's groups as Cognito holds them now, not the token's claim from sign-in."""
    token = role_token("admin")
    export = "/customers/nobody/export"
    assert call_path(client, "get", export, token) == 404  # an admin: allowed, nobody there
    idp = boto3.client("cognito-idp")
    pool = os.environ["SOCIALCRM_COGNITO_USER_POOL_ID"]
    idp.admin_add_user_to_group(UserPoolId=pool, Username=_admin(secrets), GroupName="agent")
    idp.admin_remove_user_from_group(UserPoolId=pool, Username=_admin(secrets), GroupName="admin")
    assert call_path(client, "get", export, token) == 403  # same token: an agent now
    idp.admin_remove_user_from_group(UserPoolId=pool, Username=_admin(secrets), GroupName="agent")
    assert call_path(client, "get", export, token) == 401  # in no group: nobody


def test_where_the_stage_requires_it_an_admin_without_mfa_acts_as_a_supervisor(aws, secrets) -> None:
    # The verifier itself: chalice's test client would put the dev stage's setting (false) back.
    from chalicelib.adapters.cognito import CognitoVerifier
    from chalicelib.models.access import Role

    pool = os.environ["SOCIALCRM_COGNITO_USER_POOL_ID"]
    verifier = CognitoVerifier(pool, (), boto3.client("cognito-idp"), admin_needs_mfa=True)  # prod's setting
    token = role_token("admin")
    assert verifier.user(token) == (_admin(secrets), Role.SUPERVISOR)  # no second factor yet: no export
    assert CognitoVerifier(pool, (), boto3.client("cognito-idp")).user(token) == (_admin(secrets), Role.ADMIN)
    idp = boto3.client("cognito-idp")
    idp.associate_software_token(AccessToken=token)
    idp.verify_software_token(AccessToken=token, UserCode="123456")
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    assert verifier.user(token) == (_admin(secrets), Role.ADMIN)
