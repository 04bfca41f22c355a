"""One structured logger for the whole app. Log counts, ids and reasons; never message text,
names, handles or phone numbers (a WhatsApp user id is a phone number)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="socialcrm")
