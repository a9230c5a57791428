"""A request body is validated first without its model's own unknown-fields guard
(`unguarded_validator`, in `read_json`): for every body model that has the guard, that
validator exists (pydantic still lays the guard out where it is looked for), gives the same
model for a body that passes, and refuses one with an unknown field, so that the model itself
then says why."""

import json
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from todo_api.app import create_app
from todo_api.kit.http import DOCUMENTED_MODELS
from todo_api.kit.inputs import Input, unguarded_validator
from todo_api.tasks.schemas import BulkRequest, TaskCreate, TaskUpdate

create_app(jobs=[])  # every route's body model is documented once the routers are made


def body_models() -> list[type[BaseModel]]:
    return sorted(DOCUMENTED_MODELS, key=lambda model: model.__name__)


def test_every_guarded_body_model_has_an_unguarded_validator() -> None:
    guarded = [model for model in body_models() if issubclass(model, Input)]
    assert len(guarded) > 20
    assert [model.__name__ for model in guarded if unguarded_validator(model) is None] == []
    others = [model for model in body_models() if not issubclass(model, Input)]
    assert all(unguarded_validator(model) is None for model in others)


REMINDER = {"before_due": "PT15M"}
BODIES: list[tuple[type[Input], dict[str, Any]]] = [
    (TaskCreate, {"title": "Buy milk"}),
    (
        TaskCreate,
        {
            "title": " Café ",
            "description": "Two\tlitres",
            "priority": "high",
            "due_at": "2026-11-26T10:00:00+01:00",
            "timezone": "Europe/Paris",
            "tags": ["Groceries", "groceries", "日本"],
            "recurrence": "FREQ=WEEKLY",
            "reminders": [REMINDER],
        },
    ),
    (TaskUpdate, {"priority": "low"}),
    (TaskUpdate, {"description": None, "due_date": "2026-12-01", "is_completed": True}),
    (
        BulkRequest,
        {
            "operations": [
                {"op": "create", "data": {"title": "t", "reminders": [REMINDER]}},
                {"op": "update", "id": str(uuid.uuid4()), "data": {"title": "u"}},
                {"op": "delete", "id": str(uuid.uuid4())},
            ]
        },
    ),
]


@pytest.mark.parametrize(("model", "body"), BODIES)
def test_a_body_that_passes_gives_what_the_model_gives(
    model: type[Input], body: dict[str, Any]
) -> None:
    text = json.dumps(body)
    validator = unguarded_validator(model)
    assert validator is not None
    fast, checked = validator.validate_json(text), model.model_validate_json(text)
    assert type(fast) is model
    assert fast == checked
    assert fast.model_fields_set == checked.model_fields_set


@pytest.mark.parametrize(("model", "body"), BODIES)
def test_an_unknown_field_fails_the_unguarded_validator_too(
    model: type[Input], body: dict[str, Any]
) -> None:
    text = json.dumps({**body, "typo": 1})
    validator = unguarded_validator(model)
    assert validator is not None
    with pytest.raises(ValidationError):
        validator.validate_json(text)
    with pytest.raises(ValidationError):
        model.model_validate_json(text)


def test_the_models_other_validators_stay() -> None:
    validator = unguarded_validator(TaskUpdate)
    assert validator is not None
    with pytest.raises(ValidationError, match="at least one field"):
        validator.validate_json(b"{}")  # a Change's own rule
    with pytest.raises(ValidationError, match="must not be blank"):
        validator.validate_json(b'{"title": "  "}')  # a field's own
