"""The API's pages for people: `/docs` (Swagger UI) and `/redoc`, with their scripts and styles
served by the service itself (from the `fastapi-offline` package), so they work offline; and
`GET /`, which points to them."""

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.staticfiles import StaticFiles

from todo_api.kit.http import json_response

DOCS = "/docs"
ASSETS = "/docs/assets"
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
_ASSET_DIR = Path(str(files("fastapi_offline") / "static"))

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> Response:
    return json_response({"name": "todo-api", "docs": DOCS, "redoc": "/redoc"})


@router.get(DOCS)
async def swagger_ui() -> Response:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="todo-api",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        oauth2_redirect_url=OAUTH2_REDIRECT,
        # Swagger UI would otherwise send the document to a public validator.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> Response:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc() -> Response:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title="todo-api",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


def install_docs(app: FastAPI) -> None:
    """The pages' routes and their assets (the app is made with docs_url=None, redoc_url=None)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=_ASSET_DIR), name="docs-assets")
