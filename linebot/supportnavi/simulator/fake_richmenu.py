"""The rich-menu part of the fake LINE API: menus, their images, aliases and the default,
kept as state so a test can see what a deploy left behind. It refuses what LINE refuses: an
alias id taken twice (400 "conflict"), an image uploaded twice or not PNG/JPEG, over 1 MB or
not the menu's size, a default menu without an image, an alias to a menu that is not there.
It also refuses to delete a menu an alias still points at, which is stricter than LINE
documents: a deploy that did that would leave a tab switch leading nowhere."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

MAX_IMAGE_BYTES = 1_000_000
_ids = itertools.count(1)


@dataclass
class FakeRichMenus:
    menus: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the request + id
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> (type, bytes)
    aliases: dict[str, str] = field(default_factory=dict)  # alias id -> rich menu id
    default: str | None = None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"message": message}, status)


def add_richmenu_routes(
    app: FastAPI, state: FakeRichMenus, record: Callable[[Request, Any], None],
    json_body: Callable[[Request], Awaitable[Any]],
) -> None:
    """Register the endpoints on the fake's app (before its catch-all route)."""

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer ")

    @app.post("/v2/bot/richmenu")
    async def create(request: Request) -> JSONResponse:
        body = await json_body(request)
        record(request, body)
        if not authorized(request):
            return _error("Authentication failed", 401)
        if not isinstance(body, dict) or not isinstance(body.get("size"), dict):
            return _error("The request body has 1 error(s)")
        menu_id = f"richmenu-{next(_ids):032x}"
        state.menus[menu_id] = {"richMenuId": menu_id, **body}
        return JSONResponse({"richMenuId": menu_id})

    @app.get("/v2/bot/richmenu/list")
    async def listed(request: Request) -> JSONResponse:
        record(request, None)
        return JSONResponse({"richmenus": list(state.menus.values())})

    @app.get("/v2/bot/richmenu/alias/list")
    async def alias_list(request: Request) -> JSONResponse:
        record(request, None)
        return JSONResponse({"aliases": [
            {"richMenuAliasId": a, "richMenuId": m} for a, m in state.aliases.items()
        ]})

    @app.post("/v2/bot/richmenu/alias")
    async def alias_create(request: Request) -> JSONResponse:
        body = await json_body(request)
        record(request, body)
        alias_id, menu_id = (body or {}).get("richMenuAliasId"), (body or {}).get("richMenuId")
        if not isinstance(alias_id, str):
            return _error("The request body has 1 error(s)")
        if alias_id in state.aliases:
            return _error("conflict richmenu alias id")
        if menu_id not in state.menus:
            return _error("richmenu not found")
        state.aliases[alias_id] = menu_id
        return JSONResponse({})

    @app.get("/v2/bot/richmenu/alias/{alias_id}")
    async def alias_get(alias_id: str, request: Request) -> JSONResponse:
        record(request, None)
        if alias_id not in state.aliases:
            return _error("richmenu alias not found", 404)
        return JSONResponse({"richMenuAliasId": alias_id, "richMenuId": state.aliases[alias_id]})

    @app.post("/v2/bot/richmenu/alias/{alias_id}")
    async def alias_update(alias_id: str, request: Request) -> JSONResponse:
        body = await json_body(request)
        record(request, body)
        menu_id = (body or {}).get("richMenuId")
        if alias_id not in state.aliases:
            return _error("richmenu alias not found")
        if menu_id not in state.menus:
            return _error("richmenu not found")
        state.aliases[alias_id] = menu_id
        return JSONResponse({})

    @app.delete("/v2/bot/richmenu/alias/{alias_id}")
    async def alias_delete(alias_id: str, request: Request) -> JSONResponse:
        record(request, None)
        if state.aliases.pop(alias_id, None) is None:
            return _error("richmenu alias not found")
        return JSONResponse({})

    @app.post("/v2/bot/richmenu/{menu_id}/content")
    async def upload(menu_id: str, request: Request) -> JSONResponse:
        data = await request.body()
        record(request, data)
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        if menu_id not in state.menus:
            return _error("Not found", 404)
        if menu_id in state.images:
            return _error("An image has already been uploaded to the richmenu")
        if kind not in ("image/png", "image/jpeg"):
            return _error(f"unsupported content type {kind!r}", 415)
        if len(data) > MAX_IMAGE_BYTES:
            return _error("image too large", 413)
        size = state.menus[menu_id]["size"]
        if kind == "image/png" and _png_size(data) != (size["width"], size["height"]):
            return _error("the image does not match the rich menu's size")
        state.images[menu_id] = (kind, data)
        return JSONResponse({})

    @app.get("/v2/bot/richmenu/{menu_id}/content")
    async def download(menu_id: str, request: Request) -> Response:
        record(request, None)
        if menu_id not in state.images:
            return _error("Not found", 404)
        kind, data = state.images[menu_id]
        return Response(data, media_type=kind)

    @app.get("/v2/bot/richmenu/{menu_id}")
    async def get(menu_id: str, request: Request) -> JSONResponse:
        record(request, None)
        if menu_id not in state.menus:
            return _error("Not found", 404)
        return JSONResponse(state.menus[menu_id])

    @app.delete("/v2/bot/richmenu/{menu_id}")
    async def delete(menu_id: str, request: Request) -> JSONResponse:
        record(request, None)
        if menu_id not in state.menus:
            return _error("Not found", 404)
        if menu_id in state.aliases.values():
            return _error("the richmenu is still the target of an alias")
        del state.menus[menu_id]
        state.images.pop(menu_id, None)
        if state.default == menu_id:
            state.default = None
        return JSONResponse({})

    @app.post("/v2/bot/user/all/richmenu/{menu_id}")
    async def set_default(menu_id: str, request: Request) -> JSONResponse:
        record(request, None)
        if menu_id not in state.menus:
            return _error("Not found", 404)
        if menu_id not in state.images:
            return _error("must upload richmenu image before applying it to user")
        state.default = menu_id
        return JSONResponse({})

    @app.get("/v2/bot/user/all/richmenu")
    async def get_default(request: Request) -> JSONResponse:
        record(request, None)
        if state.default is None:
            return _error("no default richmenu", 404)
        return JSONResponse({"richMenuId": state.default})
