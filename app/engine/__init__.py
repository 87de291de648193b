"""The workflow engine: the only package that imports SpiffWorkflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app

from app.engine.bundles import Bundle, collect
from app.engine.definitions import DefinitionStore, parse_xml_safely
from app.engine.lint import Linter
from app.engine.operators import OperatorRegistry
from app.engine.platform_operators import build_registry
from app.engine.reader import InstanceReader
from app.engine.runner import Runner
from app.engine.scripting import HELPER_NAMES
from app.extensions import db
from app.models import WorkflowDefinition


@dataclass
class Engine:
    """Definitions, operators and the runner, wired once per app."""

    definitions: DefinitionStore
    operators: OperatorRegistry
    runner: Runner
    reader: InstanceReader
    files_root: Path  # holds workflows/, forms/ and documents/: what `flask deploy` reads

    def bundle_from_files(self, path: Path, files_root: Path | None = None) -> Bundle:
        """A diagram file with the forms and print templates it names, read from `files_root`."""
        data = path.read_bytes()
        root = parse_xml_safely(data, self.definitions.max_bytes)
        return collect(path.name, data, root, files_root or self.files_root)

    def deploy_file(
        self, path: Path, deployed_by: str, files_root: Path | None = None, comment: str = ""
    ) -> tuple[WorkflowDefinition, bool]:
        """Deploy one diagram with its files and commit; returns (version row, whether it is new)."""
        try:
            result = self.definitions.deploy(db.session, self.bundle_from_files(path, files_root), deployed_by, comment)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    def deploy_folder(self, deployed_by: str) -> list[tuple[WorkflowDefinition, bool]]:
        folder = self.files_root / "workflows"
        return [self.deploy_file(p, deployed_by) for p in sorted(folder.glob("*.bpmn"))]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build_engine(app: Flask) -> Engine:
    from app.services import suffix_rule
    from app.services.documents import template_problems  # services import the engine: bind late
    from app.services.jurisdiction import lane_problems
    from app.services.notifications import template_names

    operators = build_registry()
    checks = [template_problems, lane_problems, suffix_rule.problems]
    linter = Linter(operators, HELPER_NAMES, template_names, checks=checks)
    definitions = DefinitionStore(linter, int(app.config["MAX_DIAGRAM_BYTES"]))
    runner = Runner(lambda: db.session, definitions, operators, app.config, _utcnow)
    reader = InstanceReader(lambda: db.session, definitions, runner.serializer)
    return Engine(definitions, operators, runner, reader, Path(app.config["PROCEDURES_ROOT"]))


def get_engine() -> Engine:
    return current_app.extensions["workflow_engine"]  # type: ignore[no-any-return]
