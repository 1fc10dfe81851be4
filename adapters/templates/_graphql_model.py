"""What a GraphQL template file may say (`kind: graphql`), as pydantic models.

The parts a GraphQL template shares with a REST one (settings, auth, timeout, rate limit) are
the REST models; what differs is the request: one endpoint `url`, and per stream a `query`
(sent as written, never interpolated: settings reach it through `variables`), the records'
path in the answer's `data`, and a paginator that puts its position into query variables.
Errors are GraphQL's own (`errors[].extensions.code`) besides HTTP statuses.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from adapters.templates._model import (
    AdapterName,
    Auth,
    Backoff,
    DottedPath,
    NoAuth,
    NoPages,
    PageSize,
    RateLimitSpec,
    Seconds,
    SettingField,
    SettingName,
    StreamName,
    Text,
)

VariableName = Annotated[str, StringConstraints(pattern=r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")]
QueryText = Annotated[str, StringConstraints(min_length=3, max_length=20_000)]
ErrorCode = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


AUTH_CODES = ("UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN", "USER_UNAUTHORIZED")
RATE_LIMIT_CODES = (
    "RATE_LIMITED",
    "RATE_LIMIT_EXCEEDED",
    "THROTTLED",
    "COMPLEXITY_BUDGET_EXHAUSTED",
)
RETRY_AFTER_PATHS = (
    "extensions.retry_in_seconds",
    "extensions.retryAfter",
    "extensions.retry_after",
)


# -- pagination ---------------------------------------------------------------------------------


class GraphQLPageNumber(_Model):
    """`page_variable` counts pages from `start`; a page shorter than `page_size` (when
    `size_variable` sends it) or an empty one is the last."""

    type: Literal["page_number"]
    page_variable: VariableName = "page"
    size_variable: VariableName | None = "limit"
    page_size: PageSize = 100
    start: int = Field(default=1, ge=0, le=1)


class GraphQLNextQuery(_Model):
    """Pages after the first asked with another query (Monday.com's `next_items_page`):
    its records and next cursor are read at its own paths."""

    query: QueryText
    records: DottedPath
    cursor_path: DottedPath
    has_next_path: DottedPath | None = None


class GraphQLCursor(_Model):
    """The next page's cursor is read at `cursor_path` (Relay: `….pageInfo.endCursor`, with
    `has_next_path` `….pageInfo.hasNextPage`) and sent as `cursor_variable` (null on the
    first page, if the query declares it). A cursor that expires (`cursor_lifetime`; Monday's
    last 60 minutes) is not resumed from once it is too old."""

    type: Literal["cursor"]
    cursor_variable: VariableName = "cursor"
    cursor_path: DottedPath
    has_next_path: DottedPath | None = None
    size_variable: VariableName | None = None
    page_size: PageSize = 100
    next: GraphQLNextQuery | None = None
    cursor_lifetime: float | None = Field(
        default=None,
        gt=0,
        le=30 * 86_400,
        description="Seconds a cursor stays valid: a checkpoint's older one starts its list over.",
    )


GraphQLPaginator = Annotated[
    NoPages | GraphQLPageNumber | GraphQLCursor, Field(discriminator="type")
]


# -- streams ------------------------------------------------------------------------------------


class GraphQLForEach(_Model):
    """Run the stream once per record of another stream (items per board): that record's
    `key` goes into `variable`."""

    stream: StreamName
    key: DottedPath = "id"
    variable: VariableName


class GraphQLStreamFields(_Model):
    """A stream, or (under `defaults`) what every stream has unless it says otherwise."""

    title: Text | None = None
    query: QueryText | None = None
    variables: dict[VariableName, JsonValue] = Field(default_factory=dict)
    records: DottedPath | None = Field(default=None, description="Path in `data` to the list.")
    primary_key: DottedPath | tuple[DottedPath, ...] | None = None
    paginator: GraphQLPaginator | None = None
    for_each: GraphQLForEach | None = None
    fields: dict[StreamName, DottedPath] | None = None


# -- errors, check, the file ----------------------------------------------------------------------


class GraphQLErrors(_Model):
    """What the codes in an answer's `errors` mean (each list replaces its default). An error
    whose code is in none of them fails the request for good, with its message."""

    code_path: DottedPath = "extensions.code"
    auth: tuple[ErrorCode, ...] = AUTH_CODES
    rate_limited: tuple[ErrorCode, ...] = RATE_LIMIT_CODES
    retry: tuple[ErrorCode, ...] = ()
    retry_after: tuple[DottedPath, ...] = RETRY_AFTER_PATHS
    backoff: Backoff | None = None


class GraphQLCheck(_Model):
    """Test Connection: the first page of `stream`, or `query` (with `variables`);
    `account` is where its answer names the account (shown as "connected to")."""

    stream: StreamName | None = None
    query: QueryText | None = None
    variables: dict[VariableName, JsonValue] = Field(default_factory=dict)
    account: DottedPath | None = None


class GraphQLTemplate(_Model):
    """A whole GraphQL template file."""

    kind: Literal["graphql"]
    name: AdapterName
    title: Text
    description: Text
    icon: Text = "🔌"
    settings: dict[SettingName, SettingField] = Field(default_factory=dict)
    url: Text
    headers: dict[Text, Text] = Field(default_factory=dict)
    auth: Auth = NoAuth(type="none")
    timeout: Seconds = 30.0
    rate_limit: RateLimitSpec | None = None
    errors: GraphQLErrors = GraphQLErrors()
    defaults: GraphQLStreamFields = GraphQLStreamFields()
    streams: dict[StreamName, GraphQLStreamFields] = Field(min_length=1)
    check: GraphQLCheck | None = None
