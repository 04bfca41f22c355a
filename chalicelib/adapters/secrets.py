"""The one accessor for the app's secrets: a JSON document in AWS Secrets Manager.

Powertools' SecretsProvider caches the document for `max_age` seconds, so the webhook hot path
reads secrets from memory and a rotated value is picked up within that time.
"""

from __future__ import annotations

from typing import Any

from chalicelib.ports import SecretNotSet, SecretUnavailable


class SecretStore:
    def __init__(self, secret_id: str, max_age: int, secretsmanager_client: Any = None) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._client = secretsmanager_client
        self._provider: Any = None

    def get(self, key: str) -> str:
        document = self._document()
        value = document.get(key) if isinstance(document, dict) else None
        if not isinstance(value, str) or not value:
            raise SecretNotSet(f"secret {key!r} is not set in {self._secret_id}")
        return value

    def entry(self, key: str, name: str) -> str:
        document = self._document()
        values = document.get(key) if isinstance(document, dict) else None
        value = values.get(name) if isinstance(values, dict) else None
        if not isinstance(value, str) or not value:
            raise SecretNotSet(f"secret {key!r} has no entry {name!r} in {self._secret_id}")
        return value

    def document(self) -> dict[str, Any]:
        """The whole document (the senders' credentials are maps of objects, not strings)."""
        document = self._document()
        return document if isinstance(document, dict) else {}

    def _document(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        if self._provider is None:
            from chalicelib.adapters.aws import client

            self._provider = SecretsProvider(boto3_client=self._client or client("secretsmanager"))
        try:
            return self._provider.get(self._secret_id, transform="json", max_age=self._max_age)
        except (GetParameterError, TransformParameterError) as exc:
            raise SecretUnavailable(f"cannot read {self._secret_id}: {type(exc.__cause__ or exc).__name__}") from exc
