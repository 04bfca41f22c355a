"""Every platform's sender, by platform name: the one place the outbound side looks one up.

A platform socialcrm does not know by name is a generic source (the generic webhook's sources are
answered at their own outbound URL), so `sender_for` never fails: whether a source may be answered
at all is the secrets document's to say (no `generic_outbound` entry: MissingCredentials).
"""

from __future__ import annotations

from chalicelib.channels.generic.send import GenericSender
from chalicelib.channels.meta.send import FacebookSender, InstagramSender, MessengerSender, WhatsAppSender
from chalicelib.channels.outbound import Sender
from chalicelib.channels.telegram.send import TelegramSender
from chalicelib.channels.trustpilot.send import TrustpilotSender
from chalicelib.channels.x.send import XSender

SENDERS: dict[str, Sender] = {
    sender.platform: sender
    for sender in (
        MessengerSender(),
        InstagramSender(),
        FacebookSender(),
        WhatsAppSender(),
        TelegramSender(),
        XSender(),
        TrustpilotSender(),
    )
}

GENERIC: Sender = GenericSender()


def sender_for(platform: str) -> Sender:
    """The platform's sender; any name that is not a built-in platform is a generic source's."""
    return SENDERS.get(platform, GENERIC)
