"""Claiming an interaction before paying to analyse it: Powertools Idempotency's DynamoDB
persistence layer, used step by step because the work it guards is batched.

`claim` is a conditional write of an INPROGRESS record; a COMPLETED record means the
interaction was processed before (a redelivery: nothing to do), an INPROGRESS one that another
invocation is on it (retry later). Powertools expires an INPROGRESS record when the claiming
invocation's time is up, so a crashed Lambda does not block the interaction for ever.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS

from chalicelib.errors import describe
from chalicelib.observability import logger
from chalicelib.ports import Claim

KEY_PREFIX = "socialcrm.interaction"


class ClaimStore:
    def __init__(self, table_name: str, expires_after_seconds: int, dynamodb_client: Any = None) -> None:
        self._layer = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb_client)
        self._layer.configure(
            IdempotencyConfig(event_key_jmespath="idempotency_key", expires_after_seconds=expires_after_seconds),
            key_prefix=KEY_PREFIX,
        )

    def claim(self, key: str, remaining_ms: int) -> Claim:
        data = {"idempotency_key": key}
        try:
            self._layer.save_inprogress(data, remaining_time_in_millis=remaining_ms)
        except IdempotencyItemAlreadyExistsError as exc:
            record = exc.old_data_record
            if record is None:
                try:
                    record = self._layer.get_record(data)
                except IdempotencyItemNotFoundError:
                    record = None
            if record is None:
                return Claim.BUSY  # it expired in between: the next delivery will claim it
            return Claim.DONE if record.status == STATUS_CONSTANTS["COMPLETED"] else Claim.BUSY
        return Claim.NEW

    def complete(self, key: str) -> None:
        self._layer.save_success({"idempotency_key": key}, result={})

    def release(self, key: str, reason: Exception) -> None:
        """Forget the claim, so that the record's redelivery is processed in full. Best effort,
        never raising over the failure it reports: a claim that stays expires with the claiming
        invocation's time, and the redelivery after that claims it again."""
        try:
            self._layer.delete_record({"idempotency_key": key}, reason)
        except Exception as exc:
            logger.warning("claim not released; it expires with the invocation", extra={"error": describe(exc)})
