"""Wiring: settings → services → app.  The one place real dependencies meet."""

from __future__ import annotations

from calea.clock import Clock
from calea.config import Settings
from calea.services.context import Services
from calea.services.settings import load_network_policy


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    svc = Services(settings, clock)
    svc.db.migrate()
    load_network_policy(svc)
    return svc
