"""How an incoming event is documented in /openapi.json: one schema per event type,
generated from PAYLOAD_SCHEMAS (and what domain.event_catalogue says of each type),
offered as a `oneOf` discriminated on `type`.

Only the documented schema is generated here. Requests are still validated as EventIn
and then by parse_event, so the 422 answers stay the ones callers know (`type: unknown
event type ...`, `events[1].payload.form_id: Field required`): a pydantic discriminated
union would name its errors differently (`form.submitted.payload.form_id`, a
`union_tag_invalid`), which is why it is never used to validate."""

from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, Field, GetJsonSchemaHandler, TypeAdapter, create_model
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from domain.event_catalogue import EVENT_KINDS
from domain.payload_base import Payload
from domain.payload_schemas import PAYLOAD_SCHEMAS


class ShownByType:
    """Annotated metadata: `Annotated[EventIn, ShownByType(EventIn)]` validates as
    EventIn and is documented as the union of that envelope's per-type schemas."""

    def __init__(self, envelope: type[BaseModel]):
        self.envelope = envelope

    def __get_pydantic_json_schema__(
        self, _schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(_union(self.envelope).core_schema)


class TypedEvent(BaseModel):
    """Base of the generated per-type models. Each is documented as its envelope (by
    reference, so the envelope's fields are described once) narrowed to its own `type`
    and `payload`, rather than as a copy of every envelope field per type."""

    envelope: ClassVar[type[BaseModel]]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(schema)
        own = handler.resolve_ref_schema(reference)
        narrowed = {key: own.pop(key) for key in ("type", "properties", "required") if key in own}
        own["allOf"] = [_reference(cls.envelope, handler), narrowed]
        return reference


def _reference(model: type[BaseModel], handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    # Called with the model's own core schema, the handler would inline a copy of it;
    # through a definition reference it registers the model once and answers a $ref.
    schema = model.__pydantic_core_schema__
    return handler(
        core_schema.definitions_schema(
            core_schema.definition_reference_schema(schema["ref"]), [schema]
        )
    )


@cache
def _models(envelope: type[BaseModel]) -> dict[str, type[TypedEvent]]:
    """event type -> its generated model, in PAYLOAD_SCHEMAS' order."""
    base = type(
        f"Typed{envelope.__name__}", (TypedEvent,), {"envelope": envelope, "__module__": __name__}
    )
    return {
        str(event_type): _model(base, str(event_type), payload, envelope.__name__)
        for event_type, payload in PAYLOAD_SCHEMAS.items()
    }


def _model(
    base: type[TypedEvent], event_type: str, payload: type[Payload], suffix: str
) -> type[TypedEvent]:
    kind = EVENT_KINDS[event_type]
    senders = ", ".join(kind.senders)
    return create_model(
        model_name(event_type, suffix),
        __base__=base,
        __doc__=f"`{event_type}`: {kind.meaning} Sent by: {senders}.",
        type=(Literal[event_type], ...),  # type: ignore[valid-type]
        # Required exactly when the payload has a required field: `{}` is the default.
        payload=(payload, ... if payload_required(payload) else Field(default_factory=dict)),
    )


def payload_required(payload: type[Payload]) -> bool:
    return any(field.is_required() for field in payload.model_fields.values())


def model_name(event_type: str, suffix: str = "EventIn") -> str:
    """ "contact.tag_added" -> "ContactTagAddedEventIn": an OpenAPI component name that
    cannot collide with the payload models' own (e.g. CustomEvent)."""
    words = event_type.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + suffix


@cache
def _union(envelope: type[BaseModel]) -> TypeAdapter[Any]:
    models = tuple(_models(envelope).values())
    # Union[...] of a tuple built at run time: the `|` spelling cannot take a tuple.
    return TypeAdapter(Annotated[Union[models], Field(discriminator="type")])  # type: ignore[valid-type]  # noqa: UP007
