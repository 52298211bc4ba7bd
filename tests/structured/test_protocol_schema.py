"""The worker protocol's one new field: a generate request's JSON Schema."""

from __future__ import annotations

import json

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p


def test_a_schema_travels_in_a_generate_request_and_old_requests_still_decode() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    request = p.Generate("r1", [p.ChatTurn("user", "Hi")], Sampling(64), json_schema=schema)
    decoded = p.decode(p.encode(request))
    assert isinstance(decoded, p.Generate) and decoded.json_schema == schema
    old = json.loads(p.encode(p.Generate("r2", [p.ChatTurn("user", "Hi")])))
    del old["json_schema"]  # a peer from before the field: free text
    assert p.decode(json.dumps(old)) == p.Generate("r2", [p.ChatTurn("user", "Hi")])
