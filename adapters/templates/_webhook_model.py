"""What a webhook-only template file may say (`kind: webhook`), and loading one.

Such an integration only receives: the hub verifies each delivery's signature (the
integration's `webhook.scheme`, the `webhook_secret` credential) before the adapter sees it,
so the template says only how a verified delivery's JSON becomes records and events. Per
entity: which deliveries carry it (`when`), where its records are (`records`, an object or a
list), the primary key, the default field mapping and when a record is a deletion
(`deleted`). `events`: the type of the event a delivery reports, and its data. Paths are
dotted paths into the record; `$.` starts one at the delivery's root (`$.type`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from adapters.templates._model import AdapterName, DottedPath, Scalar, StreamName, Text
from adapters.templates._yaml import Located, TemplateError, TemplateProblem, parse, problems_of
from config import WebhookScheme

SECRET_CREDENTIAL = "webhook_secret"  # the credential the hub verifies deliveries with
EventData = dict[StreamName, Annotated[str, StringConstraints(min_length=1, max_length=500)]]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class WebhookCondition(_Model):
    """Holds when the value at `path` equals `equals`, is one of `in`, or is a text starting
    with `prefix` (exactly one of the three)."""

    path: DottedPath = Field(min_length=1)
    equals: Scalar | None = None
    one_of: tuple[Scalar, ...] | None = Field(default=None, alias="in", min_length=1)
    prefix: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_test(self) -> WebhookCondition:
        given = [self.equals, self.one_of, self.prefix]
        if sum(test is not None for test in given) != 1:
            raise ValueError("give exactly one of equals, in and prefix")
        return self


class WebhookEntity(_Model):
    """How deliveries carry one entity's records."""

    title: Text | None = None
    when: WebhookCondition | None = Field(default=None, description="Which deliveries carry it.")
    records: DottedPath = Field(default="", description="The record or list; empty: the body.")
    primary_key: DottedPath | tuple[DottedPath, ...] = "id"
    fields: dict[StreamName, DottedPath] | None = None
    deleted: WebhookCondition | None = Field(
        default=None, description="When a record is a deletion."
    )


class WebhookEvents(_Model):
    """The event a delivery reports: its type from the field at `type`."""

    type: DottedPath = Field(min_length=1)
    when: WebhookCondition | None = None
    data: EventData = Field(default_factory=dict)


class WebhookDefaults(_Model):
    """What integrations made from the template use unless they say otherwise."""

    scheme: WebhookScheme = WebhookScheme.STANDARD


class WebhookTemplate(_Model):
    """A whole webhook-only template file."""

    kind: Literal["webhook"]
    name: AdapterName
    title: Text
    description: Text
    icon: Text = "🔌"
    webhook: WebhookDefaults = WebhookDefaults()
    entities: dict[StreamName, WebhookEntity] = Field(min_length=1)
    events: WebhookEvents | None = None


@dataclass(frozen=True, slots=True)
class CompiledWebhook:
    """A checked webhook-only template, ready to become an adapter (`webhook_template_spec`)."""

    template: WebhookTemplate = field(repr=False)
    settings_model: type[BaseModel] = field(repr=False)
    source: str
    credential_fields: tuple[str, ...] = (SECRET_CREDENTIAL,)

    @property
    def name(self) -> str:
        return self.template.name

    @property
    def scheme(self) -> WebhookScheme:
        """The signature scheme integrations of this template use by default."""
        return self.template.webhook.scheme


def load_webhook_template(text: str, source: str = "<template>") -> CompiledWebhook:
    """Check a webhook-only template's text; a `TemplateError` names each bad field and line."""
    located = parse(text, source)
    if not isinstance(located.data, dict):
        raise TemplateError(source, [TemplateProblem("", 1, "a template is a mapping of fields")])
    return compile_webhook_template(located, source)


def compile_webhook_template(located: Located, source: str) -> CompiledWebhook:
    """Check a parsed webhook-only template (`kind: webhook`)."""
    try:
        template = WebhookTemplate.model_validate(located.data)
    except pydantic.ValidationError as error:
        raise TemplateError(source, problems_of(error, located)) from None
    config = ConfigDict(frozen=True, extra="forbid", title=f"{template.title} settings")
    model = create_model(f"{template.name}_settings", __config__=config)  # it takes none
    return CompiledWebhook(template=template, settings_model=model, source=source)
