"""Reading spec documents: YAML or JSON text into one self-contained dict.

Three things real spec files need that a bare ``yaml.safe_load`` gets wrong:

* YAML turns ``200:`` into an int and ``2020-01-01`` into a ``date``; a spec
  is JSON-shaped, so every key becomes a string and timestamps stay strings.
* ``$ref`` may point into other files (``pet.yaml#/Pet``); they are bundled
  into the root document so that everything downstream sees local refs only.
* Every broken ``$ref`` is reported with the file and pointer where it sits.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import yaml

from ..exceptions import SpecError, SpecProblem
from ..schema.view import escape_pointer_token, unescape_pointer_token

try:  # The C loader parses large specs ~10x faster.
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


_MERGE = "tag:yaml.org,2002:merge"

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a spec is loaded.

    A large spec allocates hundreds of thousands of containers and none of
    them are garbage; every collection that allocation triggers walks the
    whole growing document again. That was 60% of the time to load Stripe's
    spec (3.7 s -> 1.2 s to parse) and 70% of GitHub's. Reference counting
    still frees memory meanwhile; the collector is back on (if it was on)
    when the last concurrent load ends."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class _SpecYamlLoader(_BaseLoader):  # type: ignore[misc]
    """Safe loader that leaves timestamps as strings (JSON has no dates) and
    refuses duplicate keys, which YAML otherwise resolves silently, last one wins."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            # Scalar keys as written ('200' and 200 collide once keys are strings);
            # '<<' merges may override on purpose.
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE]
            if len(keys) != len(set(keys)):
                seen: set[str] = set()
                for key_node, _ in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                        if key_node.value in seen:
                            raise yaml.constructor.ConstructorError(
                                "while constructing a mapping",
                                node.start_mark,
                                f"found duplicate key {key_node.value!r}",
                                key_node.start_mark,
                            )
                        seen.add(key_node.value)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_SpecYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"found duplicate key {key!r}")
            seen.add(key)
    return result


def parse_text(text: str, source: str) -> Any:
    """Parse YAML or JSON text; a syntax error names the file, line and column."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs)
        except _DuplicateKey as e:
            raise SpecError.single(source, "", f"invalid JSON: {e}") from None
        except RecursionError:
            raise SpecError.single(source, "", "the document is nested too deeply") from None
        except ValueError:
            pass  # Flow-style YAML also starts with '{'; let YAML report errors.
    try:
        return yaml.load(text, Loader=_SpecYamlLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        reason = getattr(e, "problem", None) or str(e)
        raise SpecError.single(source, "", f"invalid YAML/JSON ({where}): {reason}") from None
    except RecursionError:
        raise SpecError.single(source, "", "the document is nested too deeply") from None
    except (UnicodeError, ValueError) as e:
        raise SpecError.single(source, "", f"the document cannot be read as text: {e}") from None


def read_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SpecError.single(path, "", f"cannot read spec file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SpecError.single(path, "", f"spec file is not UTF-8: {e}") from None
    return parse_text(text, path)


def stringify_keys(node: Any, source: str = "") -> Any:
    """Return a copy of ``node`` with every mapping key a string (``200`` -> ``"200"``).

    Raises ``SpecError`` when two keys become one (``200`` and ``"200"``) or
    the document is nested too deeply to be a spec."""
    try:
        return _stringify(node)
    except _KeyCollision as e:
        raise SpecError.single(source, pointer_join("", *reversed(e.path)), e.reason) from None
    except RecursionError:
        raise SpecError.single(source, "", "the document is nested too deeply") from None


class _KeyCollision(Exception):
    """Raised where two keys collide; each level adds its key while unwinding,
    so the pointer costs nothing unless there is a problem."""

    def __init__(self, key: str, reason: str) -> None:
        self.path = [key]
        self.reason = reason


def _stringify(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            text = key if isinstance(key, str) else _key_to_str(key)
            if text in out:
                raise _KeyCollision(text, f"key {text!r} is given twice (as {key!r} and as a string)")
            try:
                out[text] = _stringify(value) if isinstance(value, (dict, list)) else value
            except _KeyCollision as e:
                e.path.append(text)
                raise
        return out
    if isinstance(node, list):
        out_list = []
        for i, value in enumerate(node):
            try:
                out_list.append(_stringify(value) if isinstance(value, (dict, list)) else value)
            except _KeyCollision as e:
                e.path.append(str(i))
                raise
        return out_list
    return node


def _key_to_str(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def pointer_join(pointer: str, *tokens: Any) -> str:
    return pointer + "".join("/" + escape_pointer_token(str(t)) for t in tokens)


def resolve_ref(doc: Any, fragment: str, pointer: str) -> tuple[Any, str] | None:
    """(what the local ``$ref`` ``#<fragment>`` at ``pointer`` points at, its pointer), or None.

    ``#/$defs/X`` that the document's root does not hold is read as the ``$defs`` of the nearest
    schema around the ref holding one named ``X``: a schema written as a JSON Schema 2020-12
    document of its own, as OpenAPI 3.1 specs do (only 3.1 reads ``$defs``; 3.0 reports it)."""
    try:
        return resolve_pointer(doc, fragment), fragment
    except KeyError:
        if not fragment.startswith("/$defs/"):
            return None
    tokens = pointer.split("/")
    for end in range(len(tokens), 1, -1):
        around = "/".join(tokens[:end]) + fragment
        try:
            return resolve_pointer(doc, around), around
        except KeyError:
            continue
    return None


def resolve_pointer(doc: Any, fragment: str) -> Any:
    """Follow a JSON pointer (``/definitions/Pet``); raises KeyError if absent."""
    node = doc
    if fragment in ("", "/"):
        return doc
    if not fragment.startswith("/"):
        raise KeyError(fragment)
    for raw in fragment[1:].split("/"):
        token = unescape_pointer_token(raw)
        if isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise KeyError(token)
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(token)
    return node


_SCHEMA_SECTION = re.compile(r"^/(?:definitions|components/schemas)/([^/]+)$")


class Bundler:
    """Rewrites a root document so every ``$ref`` is local and resolvable.

    A ref into another file is copied into the root: named schemas (those under
    ``definitions`` or ``components/schemas`` in their own file, or that refer
    back to themselves) become entries of the root's schema section, anything
    else is inlined.
    """

    def __init__(self, root: dict[str, Any], source: str, schema_section: tuple[str, ...]) -> None:
        self.root = root
        self.source = source
        self.base_dir = os.path.dirname(os.path.abspath(source)) if os.path.exists(source) else os.getcwd()
        self.schema_section = schema_section
        self.problems: list[SpecProblem] = []
        self._docs: dict[str, Any] = {}
        self._named: dict[tuple[str, str], str] = {}  # (file, fragment) -> local name
        self._inlining: set[tuple[str, str]] = set()

    def bundle(self) -> dict[str, Any]:
        """Rewrite the root in place and return it; broken refs are left in
        ``self.problems`` so they are reported with the version's own checks."""
        self._section()  # make sure refs to it can be added
        self._walk(self.root, None, "")
        return self.root

    def _section(self) -> dict[str, Any]:
        node = self.root
        for key in self.schema_section:
            node = node.setdefault(key, {})
        return node

    def _walk(self, node: Any, file: str | None, pointer: str) -> None:
        """Rewrite refs in ``node`` in place; ``file`` is None for the root document."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                replacement = self._rewrite(ref, file, pointer)
                if replacement is not None:
                    node.clear()
                    node.update(replacement)
                    return
            for key, value in list(node.items()):
                if key != "$ref" and isinstance(value, (dict, list)):
                    self._walk(value, file, pointer_join(pointer, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    self._walk(value, file, pointer_join(pointer, i))

    def _rewrite(self, ref: str, file: str | None, pointer: str) -> dict[str, Any] | None:
        """Check ``ref`` and return what should replace its holder, or None to keep it."""
        target_file: str | None
        target_file, _, fragment = ref.partition("#")
        where = pointer_join(pointer, "$ref")
        if not target_file:
            target_file = file  # local to the document it sits in
        else:
            base = os.path.dirname(file) if file else self.base_dir
            if "://" in target_file:
                self._problem(file, where, f"remote $ref '{ref}' is not supported: download it next to the spec")
                return None
            target_file = os.path.normpath(os.path.join(base, target_file))
        doc = self.root if target_file is None else self._load(target_file, file, where)
        if doc is None:
            return None
        found = resolve_ref(doc, fragment, pointer)
        if found is None:
            self._problem(file, where, f"$ref '{ref}' does not resolve")
            return None
        target, fragment = found
        if target_file is None:
            return None  # a valid local ref in the root: nothing to rewrite
        return self._import(target_file, fragment, target)

    def _import(self, target_file: str, fragment: str, target: Any) -> dict[str, Any]:
        key = (target_file, fragment)
        if key in self._named:
            return {"$ref": self._local_ref(self._named[key])}
        named = _SCHEMA_SECTION.match(fragment)
        if named or key in self._inlining:
            name = self._free_name(unquote(named.group(1)) if named else _name_from(target_file, fragment))
            self._named[key] = name
            copied = copy.deepcopy(target)
            self._section()[name] = copied
            self._walk(copied, target_file, fragment)
            return {"$ref": self._local_ref(name)}
        self._inlining.add(key)
        copied = copy.deepcopy(target)
        self._walk(copied, target_file, fragment)
        self._inlining.discard(key)
        if key in self._named:  # it referred to itself and was named meanwhile
            return {"$ref": self._local_ref(self._named[key])}
        return copied if isinstance(copied, dict) else {"allOf": [copied]}

    def _local_ref(self, name: str) -> str:
        return "#/" + "/".join(self.schema_section) + "/" + escape_pointer_token(name)

    def _free_name(self, wanted: str) -> str:
        section = self._section()
        name, n = wanted, 2
        while name in section:
            name, n = f"{wanted}{n}", n + 1
        return name

    def _load(self, path: str, from_file: str | None, where: str) -> Any:
        if path not in self._docs:
            try:
                self._docs[path] = stringify_keys(read_file(path), path)
            except SpecError as e:
                self._problem(from_file, where, e.problems[0].reason + f" ({path})")
                self._docs[path] = None
        return self._docs[path]

    def _problem(self, file: str | None, pointer: str, reason: str) -> None:
        self.problems.append(SpecProblem(file or self.source, pointer, reason))


def _name_from(path: str, fragment: str) -> str:
    last = fragment.rstrip("/").rsplit("/", 1)[-1] if fragment.strip("/") else ""
    stem = last or os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"\W", "_", stem) or "Schema"


def load_document(
    *,
    yaml_path: str | None = None,
    yaml_str: str | None = None,
    spec_dict: dict[str, Any] | None = None,
    schema_section: Callable[[dict[str, Any]], tuple[str, ...]],
) -> tuple[dict[str, Any], str, list[SpecProblem]]:
    """Load exactly one of the three sources; return (bundled document, source name, ref problems)."""
    given = [x for x in (yaml_path, yaml_str, spec_dict) if x is not None]
    if len(given) != 1:
        raise TypeError("give exactly one of yaml_path=, yaml_str= or spec_dict=")
    if yaml_path is not None:
        source = os.fspath(yaml_path)
        doc = read_file(source)
    elif yaml_str is not None:
        source = "<yaml_str>"
        doc = parse_text(yaml_str, source)
    else:
        source = "<spec_dict>"
        doc = spec_dict  # stringify_keys copies it
    if doc is None:
        raise SpecError.single(source, "", "the document is empty")
    if not isinstance(doc, dict):
        raise SpecError.single(source, "", f"a spec must be a mapping at the top level, not {type(doc).__name__}")
    doc = stringify_keys(doc, source)
    bundler = Bundler(doc, source, schema_section(doc))
    return bundler.bundle(), source, bundler.problems
