"""The settings of the service's place on the web: the frontends whose pages may call it
(FRONTEND_URL), the proxies it believes (TRUSTED_PROXIES), its own address (PUBLIC_URL), the
page a reminder email links to, the web app, and who may read /metrics. A group of its own,
which `todo_api.config.Settings` inherits."""

import ipaddress
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode


class HttpSettings(BaseSettings):
    # The web app at /app/ (todo_api.web): on or off. Its pages need the built-in accounts;
    # without them /app/ is a page saying so.
    web_app: bool = True
    frontend_url: Annotated[list[str], NoDecode] = ["http://localhost:3000"]
    # When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: SecretStr | None = None
    # Addresses or networks of the proxies whose X-Forwarded-For / X-Forwarded-Proto are
    # believed; by default nobody's, so a client cannot choose the address it is counted as.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # The base of absolute URLs (scheme, host and any path prefix), e.g.
    # https://api.example.com; never taken from the Host header. Unset: URLs are relative.
    public_url: str | None = None
    # Where a reminder email links to: a frontend's page of the task, `{id}` standing for its
    # id (https://app.example.com/tasks/{id}). Unset: the API's own URL under PUBLIC_URL.
    task_url_template: str | None = None

    @field_validator("frontend_url", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("frontend_url")
    @classmethod
    def _no_wildcard(cls, origins: list[str]) -> list[str]:
        if "*" in origins:
            raise ValueError(
                "FRONTEND_URL must list origins; a wildcard is refused with credentials"
            )
        return origins

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            if proxy == "*":
                continue
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {proxy!r} is not an IP address or network (CIDR)"
                ) from None
        return proxies

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("PUBLIC_URL must be an absolute http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("PUBLIC_URL must not have a query or a fragment")
        return url

    @field_validator("task_url_template")
    @classmethod
    def _task_url_template(cls, template: str | None) -> str | None:
        if template is None or not template.strip():
            return None
        template = template.strip()
        parts = urlsplit(template.replace("{id}", "0"))
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("TASK_URL_TEMPLATE must be an absolute http:// or https:// URL")
        if "{id}" not in template:
            raise ValueError("TASK_URL_TEMPLATE must say where the task's id goes: {id}")
        return template
