"""A deployable version of a procedure: the diagram together with every file it uses.

The files a diagram uses are the forms its elements and its start name (`formJsonSchemaFilename`,
`formUiSchemaFilename`, `startFormJsonSchemaFilename`) and the print templates its process
property `printDocuments` lists. A bundle is content-hashed and stored whole with the version, so
an application always reads the forms and templates of the version it started on, however the
files in the repository change later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from app.engine.errors import DeployError

FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename", "startFormJsonSchemaFilename")
DOCUMENTS_PROPERTY = "printDocuments"
FORMS_FOLDER, DOCUMENTS_FOLDER = "forms", "documents"
DOCUMENT_SUFFIXES = (".md", ".json")
_FORM_NAME = re.compile(r"[A-Za-z0-9_.-]+\.schema\.json")
_DOCUMENT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_PROPERTY = "{http://spiffworkflow.org/bpmn/schema/1.0/core}property"
MAX_FILE_BYTES = 512 * 1024


@dataclass(frozen=True)
class Bundle:
    """Diagram XML plus files keyed by their path in the repository ("forms/…", "documents/…")."""

    file_name: str
    diagram: bytes
    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of the diagram and every file: any change to any of them is a new version."""
        digest = hashlib.sha256(self.diagram)
        for path in sorted(self.files):
            digest.update(b"\0" + path.encode() + b"\0" + self.files[path].encode())
        return digest.hexdigest()

    def forms(self) -> dict[str, str]:
        """Form file name → JSON text."""
        prefix = FORMS_FOLDER + "/"
        return {p.removeprefix(prefix): t for p, t in self.files.items() if p.startswith(prefix)}

    def documents(self) -> dict[str, tuple[str, str]]:
        """Document name → (file suffix, text)."""
        prefix = DOCUMENTS_FOLDER + "/"
        result = {}
        for path, text in self.files.items():
            if path.startswith(prefix):
                name = Path(path).stem
                result[name] = (Path(path).suffix, text)
        return result

    def with_file(self, path: str, text: str | None) -> Bundle:
        """The same bundle with one file replaced, added, or (text None) removed."""
        files = {p: t for p, t in self.files.items() if p != path}
        if text is not None:
            files[path] = text
        return Bundle(self.file_name, self.diagram, files)

    def write_to(self, root: Path, workflows_folder: str = "workflows") -> list[Path]:
        """Write the diagram and its files under `root`, as they lie in the repository."""
        written = []
        base = root.resolve()
        for relative, content in [(f"{workflows_folder}/{self.file_name}", self.diagram.decode()), *self.files.items()]:
            path = (root / relative).resolve()
            if not path.is_relative_to(base):  # names are checked at deploy; a stored name never leaves `root`
                raise ValueError(f"导出文件名越出目标目录: {relative}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            written.append(path)
        return written


def referenced_files(root: etree._Element) -> list[str]:
    """Paths ("forms/x.schema.json", "documents/letter") of the files a diagram uses, in order."""
    paths: list[str] = []
    for element in root.iter(_PROPERTY):
        name, value = element.get("name"), (element.get("value") or "").strip()
        if name in FORM_PROPERTIES and value:
            paths.append(f"{FORMS_FOLDER}/{value}")
        elif name == DOCUMENTS_PROPERTY:
            paths += [f"{DOCUMENTS_FOLDER}/{d.strip()}" for d in value.split(",") if d.strip()]
    return list(dict.fromkeys(paths))


def collect(file_name: str, diagram: bytes, root: etree._Element, repository: Path) -> Bundle:
    """The bundle of a diagram whose forms and documents lie in `repository` (forms/, documents/).

    A file that is named but missing, or named with a path, is left out: the deploy's lint then
    refuses the diagram naming the element that references it.
    """
    files: dict[str, str] = {}
    for reference in referenced_files(root):
        found = _find(repository, reference)
        if found is not None:
            files[found.as_posix()] = _read_text(repository / found, found.as_posix())
    return Bundle(file_name, diagram, files)


def _find(repository: Path, reference: str) -> Path | None:
    folder, _, name = reference.partition("/")
    if folder == FORMS_FOLDER:
        candidates = [Path(reference)] if _FORM_NAME.fullmatch(name) else []
    else:
        candidates = [Path(f"{reference}{s}") for s in DOCUMENT_SUFFIXES] if _DOCUMENT_NAME.fullmatch(name) else []
    return next((c for c in candidates if (repository / c).is_file()), None)


def _read_text(path: Path, shown: str) -> str:
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise DeployError([("definitions", f"{shown} 超过 {MAX_FILE_BYTES // 1024} KB")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeployError([("definitions", f"{shown} 不是 UTF-8 文本")]) from exc
