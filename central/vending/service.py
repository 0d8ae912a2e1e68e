"""The vending platform of one server process, built from the settings: the platform, its
token maker (vending keys), and the dispatcher of the HES pushes and the SMS outbox."""

from __future__ import annotations

from app.models.database import Database
from central.settings import CentralSettings
from central.sms.gateway import HttpSmsGateway
from central.sts.vending_keys import VendingKeyRing
from central.vending.dispatch import Dispatcher
from central.vending.hes import TokenMaker
from central.vending.platform import Platform
from kernel.money import Currency


def key_ring(settings: CentralSettings) -> VendingKeyRing | None:
    if settings.vending_test_keys:
        return VendingKeyRing(test_keys=True)
    if settings.vending_key_dir is not None:
        return VendingKeyRing.from_directory(settings.vending_key_dir)
    return None


def build(db: Database, settings: CentralSettings,
          currency: Currency) -> tuple[Platform, Dispatcher | None]:
    ring = key_ring(settings)
    sms = None
    if settings.sms_gateway_url:
        sms = HttpSmsGateway(settings.sms_gateway_url, user=settings.sms_gateway_user,
                             password=settings.sms_gateway_password, sender=settings.sms_sender)
    dispatcher = None
    if settings.hes_meters_url or sms is not None:
        dispatcher = Dispatcher(db, meters_url=settings.hes_meters_url, sms=sms,
                                hes_max_attempts=settings.hes_max_attempts,
                                sms_max_attempts=settings.sms_max_attempts,
                                retry_base_seconds=settings.retry_base_seconds)
    platform = Platform(db, currency, settings.zone, TokenMaker(ring) if ring is not None else None,
                        hes_enabled=bool(settings.hes_meters_url), sms_enabled=sms is not None,
                        wake=dispatcher.wake if dispatcher else None)
    return platform, dispatcher
