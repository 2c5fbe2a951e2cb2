"""The floor any LINE bot pays: a bare line-bot-sdk echo bot on FastAPI.

`POST /callback` checks the signature and parses with the SDK's `WebhookParser`, then replies
to each event through the SDK's `AsyncMessagingApi` (a text gets its own text back), and only
then answers 200, as the SDK's FastAPI example does. It keeps nothing. The one change from the
example: every event that carries a reply token is answered (a postback with its data, a
follow with a greeting), not only texts, so that it makes as many reply calls as supportnavi,
which answers every one of those events.

    .venv/bin/python bench/echo_baseline.py --port 8100 [--workers N]

reads LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN and LINE_API_BASE_URL, and serves with the
same uvicorn as `supportnavi serve` (httptools and uvloop, when installed).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent, PostbackEvent, TextMessageContent


def create_app() -> FastAPI:
    secret = os.environ["LINE_CHANNEL_SECRET"]
    configuration = Configuration(host=os.environ.get("LINE_API_BASE_URL", "https://api.line.me"),
                                  access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"])
    parser = WebhookParser(secret)
    apis: list[AsyncMessagingApi] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        client = AsyncApiClient(configuration)
        apis.append(AsyncMessagingApi(client))
        try:
            yield
        finally:
            await client.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/callback")
    async def callback(request: Request) -> str:
        signature = request.headers.get("x-line-signature", "")
        body = (await request.body()).decode()
        try:
            events = parser.parse(body, signature)
        except InvalidSignatureError:
            raise HTTPException(status_code=400, detail="Invalid signature") from None
        for event in events:
            token = getattr(event, "reply_token", None)
            if not token:
                continue
            if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
                text = event.message.text
            elif isinstance(event, PostbackEvent):
                text = event.postback.data
            else:
                text = "hello"
            await apis[0].reply_message(
                ReplyMessageRequest(reply_token=token, messages=[TextMessage(text=text)]))
        return "OK"

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run("echo_baseline:create_app", factory=True, app_dir=str(Path(__file__).parent),
                host=args.host, port=args.port, workers=args.workers, log_level="warning")


if __name__ == "__main__":
    main()
