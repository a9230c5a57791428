"""What a started app sets in its process: the garbage collector (todo_api.app's lifespan)."""

import gc

from todo_api.app import YOUNG_OBJECTS_PER_COLLECTION, create_app
from todo_api.config import Settings


async def test_a_started_app_freezes_start_up_and_collects_young_objects_less_often(
    settings: Settings,
) -> None:
    kept = gc.get_threshold()
    gc.set_threshold(700, *kept[1:])  # Python's default, as a new process has it
    try:
        app = create_app(settings, jobs=[])
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == (YOUNG_OBJECTS_PER_COLLECTION, *kept[1:])
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*kept)
