"""Imported tasks reach live streams (GET /api/events) as any change does. Served by uvicorn
in the test's event loop, as tests/test_live.py does (a stream never ends)."""

import httpx
from fastapi import FastAPI

from tests.live_helpers import EVENT_WAIT_SECONDS, open_stream, serving
from tests.support import token_for
from tests.yourdata.helpers import FIXTURES, import_file
from todo_api.config import Settings


async def test_imported_tasks_are_pushed_to_open_streams(
    data_app: FastAPI, data_settings: Settings
) -> None:
    async with serving(data_app) as url:
        headers = {"Authorization": f"Bearer {token_for(data_settings)}"}
        async with (
            httpx.AsyncClient(base_url=url, headers=headers, timeout=EVENT_WAIT_SECONDS) as client,
            open_stream(client) as (_, events),
        ):
            first = await events.next_event()
            assert first.event == "changes"
            body = (FIXTURES / "google-tasks.json").read_bytes()
            answer = await import_file(client, "google-tasks", body)
            assert answer.status_code == 200, answer.text
            imported = (await client.get("/api/tasks")).json()
            assert len(imported) == 6
            messages = await events.wait_for({task["id"] for task in imported})
        pushed = {task["id"] for message in messages for task in message.page()["changes"]}
        assert pushed == {task["id"] for task in imported}
