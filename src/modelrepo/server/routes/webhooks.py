"""Webhooks: subscribe, list, disable, and read the delivery log (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from ..auth import Caller, needs
from ..schemas import AttemptOut, DeliveryOut, Page, WebhookCreatedOut, WebhookIn, WebhookOut
from .common import ERRORS, Cursor, Limit

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERRORS)


@router.post("", response_model=WebhookCreatedOut, status_code=201)
def add(body: WebhookIn, caller: Caller = needs("webhook.create")) -> dict[str, Any]:
    """Subscribe a URL; the answer carries the signing secret, which is not shown again."""
    record, secret = caller.registry.add_webhook(
        body.url,
        model_pattern=body.model_pattern,
        events=body.events,
        allow_private=body.allow_private,
    )
    return {**record.to_dict(), "secret": secret}


@router.get("", response_model=list[WebhookOut])
def list_webhooks(
    include_disabled: Annotated[bool, Query(description="Also disabled webhooks.")] = True,
    caller: Caller = needs("webhook.list"),
) -> list[dict[str, Any]]:
    return [h.to_dict() for h in caller.registry.webhooks(include_disabled=include_disabled)]


@router.post("/{webhook_id}/disable", response_model=WebhookOut)
def disable(webhook_id: str, caller: Caller = needs("webhook.disable")) -> dict[str, Any]:
    return caller.registry.disable_webhook(webhook_id).to_dict()


@router.get("/deliveries", response_model=Page[DeliveryOut])
def deliveries(
    webhook_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    attempts: Annotated[bool, Query(description="Each with its attempts.")] = True,
    caller: Caller = needs("webhook.deliveries"),
) -> dict[str, Any]:
    """The delivery log, newest first, each with its payload (and its attempts)."""
    reg = caller.registry
    page = reg.webhook_deliveries_page(webhook_id, limit=limit, cursor=cursor)
    return page.document(
        lambda d: {
            **d.to_dict(),
            "payload": d.payload,
            **(
                {"attempts_log": [a.to_dict() for a in reg.delivery_attempts(d.delivery_id)]}
                if attempts
                else {}
            ),
        }
    )


@router.get("/deliveries/{delivery_id}/attempts", response_model=list[AttemptOut])
def delivery_attempts(
    delivery_id: Annotated[int, PathParam(ge=1, le=2**62)],
    caller: Caller = needs("webhook.deliveries"),
) -> list[dict[str, Any]]:
    """Every try at one delivery, oldest first."""
    return [a.to_dict() for a in caller.registry.delivery_attempts(delivery_id)]
