"""The GraphQL template kind without a socket: loading (errors with lines), the variables a
page is asked with, reading pages, partitions and checkpoints, and what errors mean. One
driver test runs on a scripted transport and the virtual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import (
    AdapterContext,
    AuthError,
    ConfigError,
    HttpClient,
    HttpResponse,
    IntegrationError,
    JsonObject,
    JsonValue,
    PermanentError,
    RateLimited,
    SyncKind,
    SyncRequest,
    TemplateError,
    TransientError,
    load_template,
)
from adapters.templates import (
    CompiledGraphQL,
    GraphQLErrors,
    GraphQLPosition,
    GraphQLState,
    declared_variables,
    graphql_after,
    graphql_checkpoint,
    graphql_partitions,
    graphql_problem,
    graphql_request,
    graphql_resume,
    load_graphql_template,
    read_graphql_page,
    template_text_spec,
)
from config import IntegrationType
from runtime import RateLimit, RateLimiter
from runtime.testing import MockClock
from runtime.vault import Secret
from tests.adapters.conformance import collect, ids
from tests.adapters.conftest import Script, response

TRACKER = """\
kind: graphql
name: tracker
title: Tracker
description: Issues and their comments from a GraphQL issue tracker.
settings:
  owner: {type: string}
  page_size: {type: integer, default: 50, maximum: 100}
url: https://tracker.example/graphql
headers:
  X-Owner: "{owner}"
auth: {type: bearer}
errors:
  retry: [INTERNAL]
  backoff: {attempts: 3, initial: 1, max: 1, total: 10}
check:
  query: "query { viewer { login } }"
  account: viewer.login
streams:
  issues:
    query: |
      # every issue of the owner's tracker
      query Issues($owner: String!, $first: Int!, $after: String) {
        tracker(owner: $owner) {
          issues(first: $first, after: $after) {
            nodes { id title updatedAt }
            pageInfo { hasNextPage endCursor }
          }
        }
      }
    variables: {owner: "{owner}"}
    records: tracker.issues.nodes
    paginator:
      type: cursor
      cursor_variable: after
      cursor_path: tracker.issues.pageInfo.endCursor
      has_next_path: tracker.issues.pageInfo.hasNextPage
      size_variable: first
      page_size: "{page_size}"
  comments:
    for_each: {stream: issues, key: id, variable: issue}
    query: |
      query ($issue: ID!, $page: Int!) { comments(issue: $issue, page: $page) { id body } }
    records: comments
    primary_key: [id]
    paginator: {type: page_number, page_variable: page, size_variable: null}
"""
VALUES: dict[str, str | int] = {"owner": "acme", "page_size": 2}


def _tracker() -> CompiledGraphQL:
    return load_graphql_template(TRACKER, "tracker.yaml")


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(TemplateError) as caught:
        template_text_spec(text, "t.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


# -- loading ------------------------------------------------------------------------------------


def test_a_graphql_template_becomes_a_graphql_spec() -> None:
    spec = template_text_spec(TRACKER, "tracker.yaml")
    assert spec.kind is IntegrationType.GRAPHQL
    assert (spec.name, spec.entities, spec.credential_fields) == (
        "tracker",
        ("issues", "comments"),
        ("token",),
    )
    assert spec.settings_schema["required"] == ["owner"]


def test_declared_variables_are_read_from_the_operation() -> None:
    query = "# $not: a comment\nquery ($a: Int = 1, $b_2 : [ID!]!) { x(a: $a, b: $b_2) { y } }"
    assert declared_variables(query) == {"a", "b_2"}


def test_undeclared_variables_and_writes_are_named_with_their_lines() -> None:
    text = TRACKER.replace('variables: {owner: "{owner}"}', 'variables: {owner: "{owner}", x: 1}')
    text = text.replace("cursor_variable: after", "cursor_variable: later")
    text = text.replace("variable: issue}", 'variable: issue}\n    variables: {n: "{nope}"}')
    text = text.replace('"query { viewer { login } }"', '"mutation { wipe { ok } }"')
    assert _problems(text) == [
        (16, "check.query", "only queries: a template never sends a mutation or a subscription"),
        (30, "streams.issues.variables.x", "the query declares no $x"),
        (34, "streams.issues.paginator.cursor_variable", "the query declares no $later"),
        (41, "streams.comments.variables.n", "the query declares no $n"),
        (41, "streams.comments.variables.n", "{nope} is not one of the template's settings"),
    ]


def test_shared_parts_are_checked_as_in_rest_templates() -> None:
    text = TRACKER.replace("url: https://tracker.example/graphql", 'url: "{base}/graphql"')
    text = text.replace('X-Owner: "{owner}"', 'X-Owner: "{who}"')
    text = text.replace("auth: {type: bearer}", "auth: {type: basic, username: a, password: a}")
    text = text.replace("for_each: {stream: issues,", "for_each: {stream: comments,")
    assert _problems(text) == [
        (8, "url", "{base} is not one of the template's settings"),
        (10, "headers.X-Owner", "{who} is not one of the template's settings"),
        (11, "auth", "username and password must be different credentials"),
        (40, "streams.comments.for_each.stream", "there is no other stream 'comments'"),
    ]


def test_kind_is_read_first_and_each_reader_keeps_to_its_kind() -> None:
    assert _problems(TRACKER.replace("kind: graphql", "kind: grpc")) == [
        (1, "kind", "must be one of rest, graphql, webhook, soap")
    ]
    with pytest.raises(TemplateError, match="line 1: kind: a graphql template: load_template"):
        load_template(TRACKER, "tracker.yaml")
    # `kind: soap` goes to the SOAP reader, which wants a WSDL.
    assert (1, "wsdl", "Field required") in _problems("kind: soap\nname: x\n")


# -- requests -----------------------------------------------------------------------------------


def test_relay_first_and_next_page_variables() -> None:
    issues = _tracker().streams["issues"]
    first = GraphQLState(SyncKind.FULL)
    query, variables = graphql_request(issues, first, 2, VALUES)
    assert query.startswith("# every issue")
    assert variables == {"owner": "acme", "first": 2, "after": None}  # null: from the start
    later = GraphQLState(SyncKind.FULL, at=GraphQLPosition(cursor="c2"))
    assert graphql_request(issues, later, 2, VALUES)[1]["after"] == "c2"


def test_page_numbers_and_the_parent_key_only_where_declared() -> None:
    comments = _tracker().streams["comments"]
    state = GraphQLState(SyncKind.FULL, partition="I-7", at=GraphQLPosition(page=3))
    assert graphql_request(comments, state, 2, VALUES)[1] == {"issue": "I-7", "page": 3}
    assert graphql_request(comments, GraphQLState(SyncKind.FULL, "I-7"), 2, VALUES)[1] == {
        "issue": "I-7",
        "page": 1,
    }


def _issues_page(nodes: list[str], has_next: bool, cursor: str | None) -> JsonValue:
    return {
        "tracker": {
            "issues": {
                "nodes": [{"id": n, "title": f"Issue {n}"} for n in nodes],
                "pageInfo": {"hasNextPage": has_next, "endCursor": cursor},
            }
        }
    }


def test_reading_relay_pages() -> None:
    issues = _tracker().streams["issues"]
    state = GraphQLState(SyncKind.FULL)
    page = read_graphql_page(issues, state, 2, _issues_page(["1", "2"], True, "c2"))
    assert [r.external_id for r in page.records] == ["1", "2"]
    assert page.next == GraphQLPosition(cursor="c2")
    last = read_graphql_page(issues, state, 2, _issues_page(["3"], False, "c3"))
    assert last.next is None  # hasNextPage false ends the list whatever the cursor says
    again = GraphQLState(SyncKind.FULL, at=GraphQLPosition(cursor="c2"))
    with pytest.raises(PermanentError, match="the next cursor is the one just used"):
        read_graphql_page(issues, again, 2, _issues_page(["3"], True, "c2"))
    assert read_graphql_page(issues, state, 2, _issues_page([], True, "c9")).next is None


def test_reading_numbered_pages_ends_on_an_empty_one() -> None:
    comments = _tracker().streams["comments"]
    state = GraphQLState(SyncKind.FULL, "I-1")
    body: JsonValue = {"comments": [{"id": 5, "body": "hi"}]}
    one = read_graphql_page(comments, state, 2, body)
    assert (one.records[0].external_id, one.next) == ("5", GraphQLPosition(page=2))
    assert read_graphql_page(comments, state, 2, {"comments": []}).next is None


# -- partitions and checkpoints ---------------------------------------------------------------


def test_partitions_are_ordered_and_checkpoints_name_the_next_page() -> None:
    compiled = _tracker()
    comments, each = compiled.streams["comments"], compiled.streams["comments"].for_each
    assert each is not None
    parents: list[dict[str, JsonValue]] = [{"id": "b"}, {"id": 3}, {"id": "a"}, {"id": 3}]
    partitions = graphql_partitions(parents, each, "comments")
    assert partitions == [3, "a", "b"]
    with pytest.raises(PermanentError, match="a record of 'issues' has no usable id"):
        graphql_partitions([{"id": True}], each, "comments")
    state = graphql_resume(comments, None, SyncKind.FULL, partitions)
    assert state == GraphQLState(SyncKind.FULL, 3)
    middle = graphql_after(state, GraphQLPosition(page=2), partitions)
    assert graphql_checkpoint(SyncKind.FULL, middle) == {
        "kind": "full",
        "partition": 3,
        "next": {"page": 2},
    }
    following = graphql_after(GraphQLState(SyncKind.FULL, 3), None, partitions)
    assert graphql_checkpoint(SyncKind.FULL, following) == {"kind": "full", "partition": "a"}
    assert graphql_after(GraphQLState(SyncKind.FULL, "b"), None, partitions) is None
    assert graphql_checkpoint(SyncKind.FULL, None) == {"kind": "full", "done": True}


def test_resuming_when_the_partition_has_gone_or_the_pass_is_over() -> None:
    comments = _tracker().streams["comments"]
    saved: JsonObject = {"kind": "full", "partition": "a", "next": {"page": 4}}
    assert graphql_resume(comments, saved, SyncKind.FULL, [3, "a", "b"]) == GraphQLState(
        SyncKind.FULL, "a", GraphQLPosition(page=4)
    )
    assert graphql_resume(comments, saved, SyncKind.FULL, [3, "b"]) == GraphQLState(
        SyncKind.FULL, "b"
    )
    assert graphql_resume(comments, saved, SyncKind.FULL, [3]) is None
    other_kind = graphql_resume(comments, saved, SyncKind.INCREMENTAL, [3, "a"])
    assert other_kind == GraphQLState(SyncKind.INCREMENTAL, 3)
    done: JsonObject = {"kind": "full", "done": True}
    assert graphql_resume(comments, done, SyncKind.FULL, [3]) == GraphQLState(SyncKind.FULL, 3)
    with pytest.raises(ConfigError, match="not one of ours"):
        graphql_resume(comments, {"kind": "full", "next": "x"}, SyncKind.FULL, [3])


def test_an_expired_cursor_starts_its_partition_over() -> None:
    text = TRACKER.replace(
        "size_variable: first\n", "size_variable: first\n      cursor_lifetime: 60\n"
    )
    issues = load_graphql_template(text).streams["issues"]
    page = read_graphql_page(
        issues, GraphQLState(SyncKind.FULL), 2, _issues_page(["1", "2"], True, "c2"), now=1000.0
    )
    state = graphql_after(GraphQLState(SyncKind.FULL), page.next, [])
    saved = json.loads(json.dumps(graphql_checkpoint(SyncKind.FULL, state)))
    assert saved["next"] == {"cursor": "c2", "issued": 1000.0}
    fresh = graphql_resume(issues, saved, SyncKind.FULL, [], now=1059.0)
    assert fresh is not None
    assert fresh.at == GraphQLPosition(cursor="c2", issued=1000.0)
    assert graphql_resume(issues, saved, SyncKind.FULL, [], now=1060.0) == GraphQLState(
        SyncKind.FULL
    )


# -- errors -------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, tzinfo=UTC)
RULES = GraphQLErrors(retry=("INTERNAL",))


def _error(code: str | None, message: str = "boom", **extensions: object) -> dict[str, object]:
    found: dict[str, object] = {"message": message, "extensions": {"code": code, **extensions}}
    return found


def _problem(
    status: int, body: object, headers: dict[str, str] | None = None
) -> IntegrationError | None:
    return graphql_problem(status, headers or {}, body, RULES, adapter="tracker", now=NOW)  # type: ignore[arg-type]  # test bodies are JSON


BUDGET = _error("COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=23)
TWO = [_error("BAD_USER_INPUT", "Field 'x'\n  is  bad"), _error(None)]
RETRY = _error("INTERNAL", "try again")
SYNTAX = _error(None, "Syntax Error")


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome"),
    [
        (200, {"data": {"x": 1}}, {}, (None, None, "")),
        (200, {"errors": [_error("UNAUTHENTICATED")]}, {}, (AuthError, None, "(UNAUTHENTICATED)")),
        (200, {"errors": [BUDGET]}, {}, (RateLimited, 23.0, "limited (retry after 23 s)")),
        (200, {"errors": [_error("THROTTLED", retryAfter="4.5")]}, {}, (RateLimited, 4.5, "")),
        (200, {"errors": [_error("RATE_LIMITED", retry_after=10**9)]}, {}, (RateLimited, 3600, "")),
        (429, {"errors": [_error("SLOW_DOWN")]}, {"Retry-After": "7"}, (RateLimited, 7.0, "429")),
        (429, None, {"Retry-After": "9"}, (RateLimited, 9.0, "HTTP 429")),
        (200, {"errors": [RETRY]}, {}, (TransientError, None, "INTERNAL: try again")),
        (200, {"errors": TWO, "data": {}}, {}, (PermanentError, None, "x' is bad (and 1 more)")),
        (200, {"errors": [{"message": "x" * 500}]}, {}, (PermanentError, None, "x" * 299 + "…")),
        (400, {"errors": [SYNTAX]}, {}, (PermanentError, None, "GraphQL error: Syntax Error")),
        (400, None, {}, (PermanentError, None, "HTTP 400 Bad Request")),
        (200, {"data": None}, {}, (PermanentError, None, "the answer carries no data")),
        (200, [1, 2], {}, (PermanentError, None, "the answer carries no data")),
    ],
)  # fmt: skip
def test_what_an_answer_means(
    status: int,
    body: object,
    headers: dict[str, str],
    outcome: tuple[type[IntegrationError] | None, float | None, str],
) -> None:
    expected, wait, text = outcome
    problem = _problem(status, body, headers)
    if expected is None:
        assert problem is None
        return
    assert type(problem) is expected
    assert text in problem.message
    if isinstance(problem, TransientError):
        assert problem.retry_after == wait


# -- the driver, on a scripted transport ------------------------------------------------------


def _answer(body: object) -> HttpResponse:
    return response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


async def test_a_retry_code_asks_the_same_page_again_after_its_backoff() -> None:
    clock = MockClock()
    script = Script(
        clock,
        [
            _answer({"data": _issues_page(["1", "2"], True, "c2")}),
            _answer({"errors": [_error("INTERNAL", "busy")]}),
            _answer({"data": _issues_page(["3"], False, None)}),
        ],
    )
    limiter = RateLimiter(RateLimit(1000, burst=1000), clock=clock)
    http = HttpClient(limiter, clock=clock, send=script)
    context = AdapterContext(
        "tracker-1", VALUES, {"token": Secret("tok-123456")}, http, limiter, clock
    )
    adapter = template_text_spec(TRACKER).factory(context)
    async with clock.autojump():
        batches = await collect(adapter, SyncRequest(("issues",)))
    assert ids(batches) == ["1", "2", "3"]
    sent = [json.loads(request.body or b"") for _, request in script.requests]
    assert [body["variables"]["after"] for body in sent] == [None, "c2", "c2"]
    assert script.times()[2] - script.times()[1] >= 0.5  # the template's backoff: 1 s, jittered
    request = script.requests[0][1]
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer tok-123456"
    assert request.headers["X-Owner"] == "acme"


def test_the_graphql_example_in_the_docs_loads() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
    blocks = docs.read_text(encoding="utf-8").split("```yaml\n")[1:]
    [example] = [text for text in (b.split("```", 1)[0] for b in blocks) if "kind: graphql" in text]
    spec = template_text_spec(example, "tracker.yaml")
    assert (spec.kind, spec.entities) == (IntegrationType.GRAPHQL, ("issues", "comments"))


async def test_a_peer_that_ignores_the_page_variable_stops_the_sync() -> None:
    clock = MockClock()
    script = Script(
        clock,
        [
            _answer({"data": _issues_page(["I-1"], False, None)}),
            _answer({"data": {"comments": [{"id": 5, "body": "the same, again"}]}}),
        ],
    )
    limiter = RateLimiter(RateLimit(1000, burst=1000), clock=clock)
    http = HttpClient(limiter, clock=clock, send=script)
    context = AdapterContext(
        "tracker-1", VALUES, {"token": Secret("tok-123456")}, http, limiter, clock
    )
    adapter = template_text_spec(TRACKER).factory(context)
    with pytest.raises(PermanentError, match="'comments': the peer sent the same page again"):
        await collect(adapter, SyncRequest(("comments",)))
    sent = [json.loads(request.body or b"")["variables"] for _, request in script.requests]
    assert sent[1:] == [{"issue": "I-1", "page": 1}, {"issue": "I-1", "page": 2}]
