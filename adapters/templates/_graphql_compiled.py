"""Loading a GraphQL template: YAML with lines -> `GraphQLTemplate` -> cross-checks ->
`CompiledGraphQL`, every problem named by field and line at once (as for REST templates).

The parts shared with REST templates (settings and their JSON Schema, `{setting}` names in
the URL and headers, auth, timeout) are checked by the REST checks themselves, run on a REST
view of those parts; what is GraphQL's own is checked here: each stream has a query, a query
is a read (no mutation or subscription), and every variable the template sends (its own,
the paginator's, `for_each`'s) is one the query declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import pydantic
from pydantic import BaseModel, JsonValue

from adapters.templates._checks import Stream, credential_fields, cross_check
from adapters.templates._graphql_model import (
    GraphQLCheck,
    GraphQLCursor,
    GraphQLForEach,
    GraphQLPageNumber,
    GraphQLPaginator,
    GraphQLStreamFields,
    GraphQLTemplate,
)
from adapters.templates._model import VARIABLE, NoPages, RestTemplate, StreamFields
from adapters.templates._settings import settings_model
from adapters.templates._yaml import Located, TemplateError, TemplateProblem, parse, problems_of

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

_COMMENT = re.compile(r"#[^\n\r]*")
_DECLARED = re.compile(r"\$([_A-Za-z][_0-9A-Za-z]*)\s*:")
_WORD = re.compile(r"[_A-Za-z][_0-9A-Za-z]*|[{}]")
# Where a REST check's finding is in a GraphQL template.
_RENAMED: dict[str | int, Path] = {"base_url": ("url",), "defaults": ()}


@dataclass(frozen=True, slots=True)
class GraphQLStream:
    """One entity's stream with the defaults merged in. `shape` (and `next_shape`, for the
    pages a `next` query asks) says where the records are in `data` and how each becomes a
    record, as the REST record rules read it."""

    name: str
    query: str
    declared: frozenset[str]
    variables: Mapping[str, JsonValue]
    shape: Stream
    paginator: GraphQLPaginator
    for_each: GraphQLForEach | None
    next_declared: frozenset[str] = frozenset()
    next_shape: Stream | None = None


@dataclass(frozen=True, slots=True)
class CompiledGraphQL:
    """A checked GraphQL template, ready to become an adapter (`graphql_template_spec`)."""

    template: GraphQLTemplate = field(repr=False)
    streams: Mapping[str, GraphQLStream] = field(repr=False)
    settings_model: type[BaseModel] = field(repr=False)
    credential_fields: tuple[str, ...]
    source: str

    @property
    def name(self) -> str:
        return self.template.name


def declared_variables(query: str) -> frozenset[str]:
    """The variables a query's operation declares (`query ($board: ID!, $limit: Int)`)."""
    return frozenset(_DECLARED.findall(_COMMENT.sub("", query)))


def _read_only(query: str) -> bool:
    """Whether the document's operations are all queries (no mutation or subscription)."""
    depth = 0
    for token in _WORD.findall(_COMMENT.sub("", query)):
        if token in "{}":
            depth += 1 if token == "{" else -1
        elif depth == 0 and token in ("mutation", "subscription"):
            return False
    return True


def load_graphql_template(text: str, source: str = "<template>") -> CompiledGraphQL:
    """Check a GraphQL template's text; a `TemplateError` names each bad field and its line."""
    located = parse(text, source)
    if not isinstance(located.data, dict):
        raise TemplateError(source, [TemplateProblem("", 1, "a template is a mapping of fields")])
    return compile_graphql_template(located, source)


def compile_graphql_template(located: Located, source: str) -> CompiledGraphQL:
    """Check a parsed GraphQL template (`kind: graphql`)."""
    try:
        template = GraphQLTemplate.model_validate(located.data)
    except pydantic.ValidationError as error:
        raise TemplateError(source, problems_of(error, located)) from None
    shared = _rest_view(template)
    found: list[Problem] = [(_renamed(path), message) for path, message in cross_check(shared)]
    found += _graphql_problems(template)
    problems = [
        TemplateProblem(".".join(map(str, path)), located.line_of(path), message)
        for path, message in found
    ]
    model: type[BaseModel] | None = None
    try:
        model = settings_model(shared)
    except ValueError as error:
        problems.append(TemplateProblem("settings", located.line_of(("settings",)), str(error)))
    if problems or model is None:
        problems.sort(key=lambda problem: problem.line or 0)
        raise TemplateError(source, problems)
    return CompiledGraphQL(
        template=template,
        streams=MappingProxyType(_resolve(template)),
        settings_model=model,
        credential_fields=credential_fields(shared),
        source=source,
    )


def _rest_view(template: GraphQLTemplate) -> RestTemplate:
    """The parts a GraphQL template shares with a REST one, as a REST template with no
    streams (built unvalidated: every part has been validated already), so that the REST
    checks and the settings model apply to them unchanged."""
    return RestTemplate.model_construct(
        name=template.name,
        title=template.title,
        description=template.description,
        icon=template.icon,
        settings=template.settings,
        base_url=template.url,
        auth=template.auth,
        timeout=template.timeout,
        rate_limit=template.rate_limit,
        defaults=StreamFields(headers=template.headers),
        streams={},
    )


def _renamed(path: Path) -> Path:
    if path and path[0] in _RENAMED:
        return (*_RENAMED[path[0]], *path[1:])
    return path


def _resolve(template: GraphQLTemplate) -> dict[str, GraphQLStream]:
    """Every stream with `defaults` merged in (a stream's own value wins; variables merge
    name by name)."""
    return {name: _merge(name, template.defaults, own) for name, own in template.streams.items()}


def _merge(name: str, base: GraphQLStreamFields, own: GraphQLStreamFields) -> GraphQLStream:
    key = own.primary_key or base.primary_key or "id"
    fields = own.fields if own.fields is not None else base.fields
    paginator = own.paginator or base.paginator or NoPages(type="none")
    query = own.query or base.query or ""
    shape = Stream(
        name=name,
        path="",
        headers=MappingProxyType({}),
        params=MappingProxyType({}),
        records=(own.records if own.records is not None else base.records) or "",
        primary_key=(key,) if isinstance(key, str) else key,
        paginator=NoPages(type="none"),
        incremental=None,
        fields=None if fields is None else MappingProxyType(dict(fields)),
    )
    then = paginator.next if isinstance(paginator, GraphQLCursor) else None
    return GraphQLStream(
        name=name,
        query=query,
        declared=declared_variables(query),
        variables=MappingProxyType({**base.variables, **own.variables}),
        shape=shape,
        paginator=paginator,
        for_each=own.for_each or base.for_each,
        next_declared=frozenset() if then is None else declared_variables(then.query),
        next_shape=None if then is None else replace(shape, records=then.records),
    )


# -- GraphQL's own checks -----------------------------------------------------------------------


def _graphql_problems(template: GraphQLTemplate) -> list[Problem]:
    """Every broken reference as (path into the file, message)."""
    streams = _resolve(template)
    problems: list[Problem] = []
    for name, stream in streams.items():
        problems += _stream_problems(template, streams, stream, ("streams", name))
    if template.check is not None:
        problems += _check_problems(template, streams, template.check)
    problems += _setting_references(template)
    return problems


def _stream_problems(
    template: GraphQLTemplate,
    streams: Mapping[str, GraphQLStream],
    stream: GraphQLStream,
    where: Path,
) -> Iterator[Problem]:
    if not stream.query:
        yield where, "no query (give one here or under defaults)"
        return
    yield from _query_problems(stream.query, (*where, "query"))
    paginator = stream.paginator
    both = stream.declared | stream.next_declared
    for variable in stream.variables:
        if variable not in both:
            yield (*where, "variables", variable), f"the query declares no ${variable}"
    for path, variable, declared in _paging_variables(paginator, stream):
        if variable not in declared:
            yield (*where, "paginator", *path), f"the query declares no ${variable}"
    if isinstance(paginator, GraphQLCursor) and paginator.next is not None:
        yield from _query_problems(paginator.next.query, (*where, "paginator", "next", "query"))
    if not isinstance(paginator, NoPages) and isinstance(paginator.page_size, str):
        setting = template.settings.get(paginator.page_size.strip("{}"))
        if setting is None or setting.type != "integer":
            message = f"{paginator.page_size} must be a setting of type integer"
            yield (*where, "paginator", "page_size"), message
    if stream.for_each is not None:
        yield from _for_each_problems(streams, stream, stream.for_each, (*where, "for_each"))


def _query_problems(query: str, where: Path) -> Iterator[Problem]:
    if not _read_only(query):
        yield where, "only queries: a template never sends a mutation or a subscription"
    if "{" not in query:
        yield where, "not a GraphQL query (no selection set)"


def _paging_variables(
    paginator: GraphQLPaginator, stream: GraphQLStream
) -> Iterator[tuple[Path, str, frozenset[str]]]:
    """(where in the paginator, variable, the variables of the query it must be declared in)."""
    if isinstance(paginator, GraphQLPageNumber):
        yield ("page_variable",), paginator.page_variable, stream.declared
        if paginator.size_variable is not None:
            yield ("size_variable",), paginator.size_variable, stream.declared
    elif isinstance(paginator, GraphQLCursor):
        # With a `next` query, the first page may be asked without a cursor.
        following = stream.declared if paginator.next is None else stream.next_declared
        yield ("cursor_variable",), paginator.cursor_variable, following
        if paginator.size_variable is not None:
            yield ("size_variable",), paginator.size_variable, stream.declared


def _for_each_problems(
    streams: Mapping[str, GraphQLStream], stream: GraphQLStream, each: GraphQLForEach, where: Path
) -> Iterator[Problem]:
    parent = streams.get(each.stream)
    if parent is None or parent is stream:
        yield (*where, "stream"), f"there is no other stream {each.stream!r}"
    elif parent.for_each is not None:
        yield (*where, "stream"), f"{each.stream!r} runs per record of another stream itself"
    if each.variable not in stream.declared:
        yield (*where, "variable"), f"the query declares no ${each.variable}"


def _check_problems(
    template: GraphQLTemplate, streams: Mapping[str, GraphQLStream], check: GraphQLCheck
) -> Iterator[Problem]:
    if (check.stream is None) == (check.query is None):
        yield ("check",), "give exactly one of stream and query"
    elif check.stream is not None and check.stream not in streams:
        yield ("check", "stream"), f"there is no stream {check.stream!r}"
    elif check.stream is not None and streams[check.stream].for_each is not None:
        yield ("check", "stream"), "a stream that runs per record of another cannot be the check"
    if check.query is not None:
        yield from _query_problems(check.query, ("check", "query"))
        declared = declared_variables(check.query)
        for variable in check.variables:
            if variable not in declared:
                yield ("check", "variables", variable), f"the query declares no ${variable}"


def _setting_references(template: GraphQLTemplate) -> Iterator[Problem]:
    """`{setting}` in a variable's text must name a setting."""
    places: list[tuple[Path, Mapping[str, JsonValue]]] = [
        (("defaults", "variables"), template.defaults.variables)
    ]
    places += [(("streams", n, "variables"), s.variables) for n, s in template.streams.items()]
    if template.check is not None:
        places.append((("check", "variables"), template.check.variables))
    for where, variables in places:
        for name, value in variables.items():
            for text in _texts(value):
                for setting in VARIABLE.findall(text):
                    if setting not in template.settings:
                        yield (*where, name), f"{{{setting}}} is not one of the template's settings"


def _texts(value: JsonValue) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
