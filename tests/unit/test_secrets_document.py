"""The secrets document's reply credentials (tools/secrets.py): what is accepted, what is refused
and named, where each key is stored, and which values are checked before a deploy."""

from __future__ import annotations

from typing import Any

import pytest

from tools.secrets import DEV_SECRETS_PATH, WEBHOOK_KEYS, SecretsFileError, load_file, split, validate, weak_keys

REQUIRED = {
    "meta_app_secret": "a",
    "meta_verify_token": "b",
    "x_consumer_secret": "c",
    "telegram_secret_token": "d",
    "trustpilot_token": "e",
}
X_USER = {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "1-at", "access_token_secret": "ats"}
TRUSTPILOT = {"client_id": "id", "client_secret": "secret", "business_user_id": "5f00"}
REPLY_KEYS = (
    "meta_page_tokens",
    "whatsapp_tokens",
    "telegram_bot_token",
    "x_user_credentials",
    "trustpilot_clients",
    "generic_outbound",
)


def document(**extra: Any) -> dict[str, Any]:
    return {**REQUIRED, **extra}


def test_the_dev_document_holds_credentials_for_the_demos_accounts() -> None:
    dev = load_file(DEV_SECRETS_PATH)
    assert set(REPLY_KEYS) <= set(dev)
    # the accounts the demo deliveries in events/webhooks/ carry
    assert {"104000000000001", "17841400000000001"} <= set(dev["meta_page_tokens"])
    assert set(dev["whatsapp_tokens"]) == {"100000000000101"}
    assert set(dev["x_user_credentials"]) == {"3300000001"}
    assert set(dev["trustpilot_clients"]) == {"43f51215-0000-4c60-b6dd-000000000001"}
    assert set(dev["generic_outbound"]) == {"helpdesk", "shopforum"}
    assert dev["telegram_bot_token"].startswith("7000000001:")  # the demo bot's id


def test_reply_credentials_go_to_the_app_secret_never_the_webhook_functions() -> None:
    assert not set(REPLY_KEYS) & set(WEBHOOK_KEYS)
    parts = split(load_file(DEV_SECRETS_PATH))
    assert set(REPLY_KEYS) <= set(parts.app)
    assert not set(REPLY_KEYS) & (set(parts.webhook) | set(parts.keys))


def test_the_hash_keys_have_a_secret_of_their_own_with_nothing_else() -> None:
    """The ops API (search) and the lake's archiver read the hash keys' secret, not the app's."""
    parts = split(load_file(DEV_SECRETS_PATH))
    assert set(parts.keys) == {"search_key", "lake_key"}
    assert not {"search_key", "lake_key"} & (set(parts.app) | set(parts.webhook))


def test_well_formed_credentials_are_kept_as_they_are() -> None:
    values = validate(
        document(
            whatsapp_tokens={"100": "t"},
            telegram_bot_token="1:abc",
            x_user_credentials={"33": X_USER},
            trustpilot_clients={"unit": TRUSTPILOT},
            generic_outbound={
                "forum": {"url": "https://forum.example.com/replies", "secret": "s"},
                "local": {"url": "http://127.0.0.1:8025/generic/local", "secret": "s2"},
            },
        ),
        "doc",
    )
    assert values["x_user_credentials"] == {"33": X_USER}
    assert values["generic_outbound"]["local"] == {"url": "http://127.0.0.1:8025/generic/local", "secret": "s2"}


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"whatsapp_tokens": {"100": 5}}, "whatsapp_tokens"),
        ({"telegram_bot_token": ""}, "telegram_bot_token"),
        ({"x_user_credentials": {"33": {**X_USER, "access_token_secret": ""}}}, "x_user_credentials.33"),
        ({"x_user_credentials": {"33": {**X_USER, "acess_token": "typo"}}}, "x_user_credentials.33"),
        ({"x_user_credentials": ["not", "a", "map"]}, "x_user_credentials"),
        ({"trustpilot_clients": {"unit": {"client_id": "id"}}}, "trustpilot_clients.unit"),
        (
            {"generic_outbound": {"forum": {"url": "http://forum.example.com/replies", "secret": "s"}}},
            "generic_outbound.forum.url",
        ),
        ({"generic_outbound": {"forum": {"secret": "s"}}}, "generic_outbound.forum"),
        # the sender cannot read the sources' inbound secrets (the webhook secret): its own is required
        ({"generic_outbound": {"forum": {"url": "https://forum.example.com/replies"}}}, "generic_outbound.forum"),
    ],
)
def test_malformed_credentials_are_refused_naming_the_key(extra: dict[str, Any], named: str) -> None:
    with pytest.raises(SecretsFileError, match=named.replace(".", r"\.")):
        validate(document(**extra), "doc")


def test_a_deploy_checks_the_secret_fields_of_credentials_not_their_ids_or_urls() -> None:
    values = validate(
        document(
            x_user_credentials={"33": X_USER},
            trustpilot_clients={"unit": TRUSTPILOT},
            generic_outbound={"forum": {"url": "https://forum.example.com/r", "secret": "short"}},
            whatsapp_tokens={"100": "t"},
        ),
        "doc",
    )
    weak = weak_keys(values, {}, strict=True)
    assert {
        "x_user_credentials.33.consumer_secret",
        "x_user_credentials.33.access_token",
        "x_user_credentials.33.access_token_secret",
        "trustpilot_clients.unit.client_secret",
        "generic_outbound.forum.secret",
        "whatsapp_tokens.100",
    } <= set(weak)
    assert not [key for key in weak if key.endswith((".consumer_key", ".client_id", ".business_user_id", ".url"))]
