"""`response_format` through the local API: the worker holds the answer to the schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from app.local_api.serving import LocalApi

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 12},
        "rooms": {"type": "integer", "minimum": 1, "maximum": 9},
        "sea_view": {"type": "boolean"},
        "kind": {"type": "string", "enum": ["hotel", "hostel"]},
    },
    "required": ["city", "rooms", "sea_view", "kind"],
    "additionalProperties": False,
}


def test_json_schema_answers_are_valid_even_from_random_weights(
    api: LocalApi, openai_client: Any
) -> None:
    for seed in (1, 2):
        reply = openai_client.chat.completions.create(
            model=api.model.model_id,
            messages=[{"role": "user", "content": "Describe the hotel as JSON."}],
            max_tokens=120,
            temperature=1.0,
            seed=seed,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "hotel", "schema": SCHEMA, "strict": True},
            },
        )
        choice = reply.choices[0]
        assert choice.finish_reason == "stop", choice
        jsonschema.validate(json.loads(choice.message.content), SCHEMA)
