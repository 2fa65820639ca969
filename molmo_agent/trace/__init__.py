"""The on-disk record of a run: schema, crash-safe writer, reader. Every use of a run reads it here."""

import json

from pydantic import TypeAdapter

from .reader import Trace, read_trace
from .records import (ElementRecord, Grounding, ObservationRecord, Outcome, Record, ReplayStep, StepRecord, TraceEnd,
                      TraceHeader)
from .writer import TraceWriter, new_run_dir


def json_schema() -> dict:
    """The JSON Schema of one line of trace.jsonl."""
    schema = TypeAdapter(Record).json_schema()
    schema["title"] = "molmo-agent trace record"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


__all__ = [
    "ElementRecord", "Grounding", "ObservationRecord", "Outcome", "Record", "ReplayStep", "StepRecord", "Trace", "TraceEnd",
    "TraceHeader", "TraceWriter", "json_schema", "json_schema_text", "new_run_dir", "read_trace",
]
