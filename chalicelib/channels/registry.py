"""Every channel by its name: the webhook routes take theirs from here, and so does a replay of a
kept delivery, which must be read by the channel it came in on."""

from __future__ import annotations

from chalicelib.channels import generic, meta, telegram, trustpilot, x
from chalicelib.channels.base import Channel

META = meta.MetaChannel()
X = x.XChannel()
TELEGRAM = telegram.TelegramChannel()
TRUSTPILOT = trustpilot.TrustpilotChannel()
GENERIC = generic.GenericChannel()

CHANNELS: dict[str, Channel] = {channel.name: channel for channel in (META, X, TELEGRAM, TRUSTPILOT, GENERIC)}
