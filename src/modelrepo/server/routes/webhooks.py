"""Webhooks: subscribe, list, disable, and read the delivery log (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...domain.access import WEBHOOKS
from ..auth import Caller, needs
from ..schemas import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut
from .common import ERRORS

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERRORS)


@router.post("", response_model=WebhookCreatedOut, status_code=201)
def add(body: WebhookIn, caller: Caller = needs(WEBHOOKS, store_wide=True)) -> dict[str, Any]:
    """Subscribe a URL; the answer carries the signing secret, which is not shown again."""
    record, secret = caller.registry.add_webhook(
        body.url,
        model_pattern=body.model_pattern,
        events=body.events,
        allow_private=body.allow_private,
    )
    return {**record.to_dict(), "secret": secret}


@router.get("", response_model=list[WebhookOut])
def list_webhooks(caller: Caller = needs(WEBHOOKS, store_wide=True)) -> list[dict[str, Any]]:
    return [h.to_dict() for h in caller.registry.webhooks()]


@router.post("/{webhook_id}/disable", response_model=WebhookOut)
def disable(webhook_id: str, caller: Caller = needs(WEBHOOKS, store_wide=True)) -> dict[str, Any]:
    return caller.registry.disable_webhook(webhook_id).to_dict()


@router.get("/deliveries", response_model=list[DeliveryOut])
def deliveries(
    webhook_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    caller: Caller = needs(WEBHOOKS, store_wide=True),
) -> list[dict[str, Any]]:
    """The delivery log, newest first, each with its attempts."""
    found = caller.registry.webhook_deliveries(webhook_id, limit=limit)
    return [
        {
            **d.to_dict(),
            "attempts_log": [a.to_dict() for a in caller.registry.delivery_attempts(d.delivery_id)],
        }
        for d in found
    ]
