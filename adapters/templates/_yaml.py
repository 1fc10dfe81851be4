"""Reading a template's YAML with the line of every value, so an error can name both.

`yaml.safe_load` forgets where a value came from. We compose the node tree instead (which
keeps each node's position), build plain data from it ourselves and note, for every path into
that data, the line it starts on. A pydantic error's location is then turned back into a
dotted field and a line (`TemplateProblem`). Duplicate keys, which `safe_load` silently
resolves to the last one, are an error here; keys are read as text (so `on:` stays `"on"`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from config import describe_validation_error

Path = tuple[str | int, ...]
_MAX_NODES = 50_000  # a template is a page of text; an alias bomb is not


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One thing wrong in a template: the dotted `field` (empty: the whole file) and its line."""

    field: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "(no line)"
        return f"{where}: {self.field or '(template)'}: {self.message}"


class TemplateError(ValueError):
    """A template that cannot be used; `problems` name each field and line."""

    def __init__(self, source: str, problems: Sequence[TemplateProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        shown = "\n".join(f"  {source}: {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"template {source}: {count} problem{'s' * (count != 1)}\n{shown}")


@dataclass(frozen=True, slots=True)
class Located:
    """A document's plain data and the line (1-based) each path in it starts on."""

    data: object
    lines: Mapping[Path, int]

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that exists (a missing field)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def field_of(self, loc: Sequence[str | int]) -> tuple[str, Path]:
        """A pydantic location as the dotted field the author wrote, and its data path.

        Parts that are not in the data (a union member's tag, a validator's name) are
        skipped, so `auth.bearer.token` reads `auth.token`."""
        value: object = self.data
        path: list[str | int] = []
        missing = False
        for part in loc:
            found, child = _child(value, part)
            if found:
                value = child
            elif isinstance(value, Mapping) and isinstance(part, str) and _is_tag(value, part):
                continue
            elif isinstance(value, Mapping) or missing:
                missing, value = True, None  # a field that is not there: name it all the same
            else:
                continue
            path.append(part)
        return ".".join(str(part) for part in path), tuple(path)


def _child(value: object, part: str | int) -> tuple[bool, object]:
    if isinstance(value, Mapping) and part in value:
        return True, value[part]
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return True, value[part]
    return False, None


def _is_tag(value: Mapping[object, object], part: str) -> bool:
    """Whether `part` is a discriminated union's tag (the mapping's `type`) or a pydantic
    union member name (`function-after[...]`, `str`, `int`)."""
    return value.get("type") == part or "[" in part or part in {"str", "int", "float", "bool"}


def parse(text: str, source: str) -> Located:
    """The YAML document in `text` as plain data with lines; a YAML error names its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        reason = error.problem or error.context or "not valid YAML"
        raise TemplateError(source, [TemplateProblem("", line, reason)]) from None
    except yaml.YAMLError as error:
        raise TemplateError(source, [TemplateProblem("", None, str(error))]) from None
    if node is None:
        raise TemplateError(source, [TemplateProblem("", 1, "the file is empty")])
    builder = _Builder(source)
    data = builder.build(node, ())
    return Located(data, builder.lines)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path, int] = {}
        self.constructor = SafeConstructor()
        self.nodes = 0

    def fail(self, node: Node, path: Path, message: str) -> TemplateError:
        field = ".".join(str(part) for part in path)
        problem = TemplateProblem(field, node.start_mark.line + 1, message)
        return TemplateError(self.source, [problem])

    def build(self, node: Node, path: Path) -> object:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise self.fail(node, path, f"more than {_MAX_NODES} values; is an alias repeated?")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            try:
                return self.constructor.construct_object(node)
            except yaml.YAMLError as error:
                raise self.fail(node, path, f"cannot read the value: {error}") from None
        raise self.fail(node, path, "unsupported YAML node")

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, object]:
        try:
            self.constructor.flatten_mapping(node)  # `<<: *defaults` merge keys
        except yaml.YAMLError as error:
            raise self.fail(node, path, f"cannot merge: {error}") from None
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, path, "a key must be plain text")
            key = str(key_node.value)
            if key in result:
                raise self.fail(key_node, (*path, key), "this key appears twice")
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result


def problems_of(error: ValidationError, located: Located) -> list[TemplateProblem]:
    """Each pydantic problem as field + line + message (values are never quoted)."""
    problems = []
    described = describe_validation_error(error)
    details = error.errors(include_url=False, include_input=False)
    for detail, problem in zip(details, described, strict=True):
        loc = detail["loc"]
        if detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "type")  # the tag is what is wrong: point at its line
        field, path = located.field_of(loc)
        problems.append(TemplateProblem(field, located.line_of(path), problem.message))
    return problems
