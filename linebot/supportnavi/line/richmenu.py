"""Puts the rich menus on the channel through the SDK: create the menus, upload their images,
point the aliases at them, make the first the default, and only then delete the menus an
earlier deploy left. A second run therefore leaves one set, and nobody ever sees a menu
without an image or an alias that leads nowhere."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    CreateRichMenuAliasRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)

from supportnavi.richmenu.layout import HEIGHT, NAME_PREFIX, WIDTH, Menu

log = logging.getLogger(__name__)

LINE_API = "https://api.line.me"
LINE_DATA_API = "https://api-data.line.me"


def blob_base_url(api_base_url: str) -> str:
    """Where image uploads go. LINE serves them from api-data.line.me; any other base (a fake
    LINE API in tests, a proxy) serves both, so LINE_API_BASE_URL is honoured for blobs too."""
    base = api_base_url.rstrip("/")
    return LINE_DATA_API if base == LINE_API else base


def request_body(menu: Menu) -> dict[str, Any]:
    """The create-rich-menu request, as LINE's API spells it."""
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": False,
        "name": menu.name,
        "chatBarText": menu.chat_bar,
        "areas": menu.areas(),
    }


@dataclass(frozen=True)
class Deployed:
    menus: dict[str, str]  # alias id -> the new rich menu's id
    default: str
    deleted: list[str]  # rich menus of an earlier deploy, now gone


class DeployError(Exception):
    pass


async def deploy(menus: list[Menu], images: Path, base_url: str, access_token: str) -> Deployed:
    if not menus:
        raise DeployError("scenarios/system.yaml has no richmenu: nothing to deploy")
    pictures = {m.alias_id: _image(images / m.image_file) for m in menus}
    api_client = AsyncApiClient(Configuration(host=base_url.rstrip("/"),
                                              access_token=access_token))
    blob_client = AsyncApiClient(Configuration(host=blob_base_url(base_url),
                                               access_token=access_token))
    api, blob = AsyncMessagingApi(api_client), AsyncMessagingApiBlob(blob_client)
    try:
        before = await api.get_rich_menu_list()
        ours_before = [m.rich_menu_id for m in before.richmenus
                       if str(m.name).startswith(NAME_PREFIX)]
        created: dict[str, str] = {}
        for menu in menus:
            made = await api.create_rich_menu(RichMenuRequest.from_dict(request_body(menu)))
            created[menu.alias_id] = str(made.rich_menu_id)
            await blob.set_rich_menu_image(created[menu.alias_id], pictures[menu.alias_id],
                                           _headers={"Content-Type": "image/png"})
        aliases = {a.rich_menu_alias_id for a in (await api.get_rich_menu_alias_list()).aliases}
        for alias_id, menu_id in created.items():
            await _point_alias(api, alias_id, menu_id, exists=alias_id in aliases)
        default = created[menus[0].alias_id]
        await api.set_default_rich_menu(default)
        stale = [m for m in ours_before if m not in created.values()]
        for menu_id in stale:
            await api.delete_rich_menu(menu_id)
        return Deployed(menus=created, default=default, deleted=stale)
    except ApiException as exc:
        raise DeployError(f"LINE answered {exc.status}: {_message(exc)}") from exc
    finally:
        await api_client.close()
        await blob_client.close()


async def _point_alias(api: Any, alias_id: str, menu_id: str, *, exists: bool) -> None:
    if exists:
        await api.update_rich_menu_alias(alias_id, UpdateRichMenuAliasRequest(rich_menu_id=menu_id))
        return
    try:
        await api.create_rich_menu_alias(
            CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=menu_id)
        )
    except ApiException as exc:
        # made in between by someone else: LINE answers 400 "conflict"; move it instead
        if exc.status != 400 or "conflict" not in _message(exc).lower():
            raise
        await api.update_rich_menu_alias(alias_id, UpdateRichMenuAliasRequest(rich_menu_id=menu_id))


def _image(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeployError(f"no image {path}: run `supportnavi richmenu build` first") from exc
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DeployError(f"{path} is not a PNG")
    return data


def _message(exc: ApiException) -> str:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
    return str(body or exc.reason)
