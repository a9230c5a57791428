"""The web app's push subscriptions (`POST /app/push-subscriptions`, and `DELETE`, or `POST
/app/push-subscriptions/delete`): the API's routes for a page's script, which is signed in by
its cookie (the API takes no cookie). The same JSON (`PushSubscription.toJSON()`), the form
token in the `X-CSRF-Token` header (or a `csrf_token` key of the body), the same rows through
the same service (todo_api.push), and the same answers: 201 or 200, 204, the contract's error
body. Not signed in: a bare 401, not the sign-in page."""

import json

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.kit.deps import database
from todo_api.kit.errors import (
    ApiError,
    ErrorCode,
    error_body_response,
    error_response,
    validation_failure,
)
from todo_api.kit.http import json_bytes, read_json
from todo_api.push import service
from todo_api.push.router import checked, subscription_body
from todo_api.push.schemas import EndpointIn, SubscriptionIn
from todo_api.web.common.site import HEADERS, Handler, Page, Site, no_content, user_id

PATH = "/app/push-subscriptions"
TOKEN_HEADER = "x-csrf-token"


class PushPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        # A script's request: no sign-in is a bare 401 (`stream`), not the sign-in page, and
        # no page's context (`shared`) is read for it.
        def signed(page: Page) -> Handler:
            return self.site.signed_in(page, shared=False, stream=True)

        return [
            Route(PATH, signed(self.subscribe), methods=["POST"]),
            Route(PATH, signed(self.unsubscribe), methods=["DELETE"]),
            Route(PATH + "/delete", signed(self.unsubscribe), methods=["POST"]),
        ]

    def _token_valid(self, request: Request, body: bytes) -> bool:
        token = request.headers.get(TOKEN_HEADER)
        if token is None and body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            token = parsed.get("csrf_token") if isinstance(parsed, dict) else None
        return self.site.signins.form_token_valid(request, token)

    async def subscribe(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self._answer(request, signed_in, subscribing=True)

    async def unsubscribe(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self._answer(request, signed_in, subscribing=False)

    async def _answer(
        self, request: Request, signed_in: BrowserSignIn, *, subscribing: bool
    ) -> Response:
        if not self._token_valid(request, await request.body()):
            return error_body_response(
                403, ErrorCode.FORBIDDEN, "The form token is missing or too old: reload the page"
            )
        try:
            if not subscribing:
                data = await read_json(request, EndpointIn)
                async with database(request).connection() as conn:
                    await service.remove(conn, user_id(signed_in), data.endpoint.strip())
                return no_content()
            subscription = await read_json(request, SubscriptionIn)
            await checked(self.site.settings, subscription)
            async with database(request).connection() as conn:
                row, created = await service.save(conn, user_id(signed_in), subscription)
        except RequestValidationError as exc:
            return error_response(validation_failure(exc.errors()))
        except ApiError as exc:
            return error_response(exc)
        body = json_bytes(subscription_body(row))
        return Response(body, 201 if created else 200, HEADERS, "application/json")
