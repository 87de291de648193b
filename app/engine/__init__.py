"""The workflow engine: the only package that imports SpiffWorkflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app

from app.engine.definitions import DefinitionStore
from app.engine.lint import Linter
from app.engine.operators import OperatorRegistry
from app.engine.platform_operators import build_registry
from app.engine.reader import InstanceReader
from app.engine.runner import Runner
from app.engine.scripting import HELPER_NAMES
from app.extensions import db
from app.models import WorkflowDefinition
from app.taskforms.schemas import FormLibrary


@dataclass
class Engine:
    """Definitions, operators, forms and the runner, wired once per app."""

    definitions: DefinitionStore
    operators: OperatorRegistry
    forms: FormLibrary
    runner: Runner
    reader: InstanceReader
    workflows_dir: Path

    def deploy_file(self, path: Path, deployed_by: str) -> tuple[WorkflowDefinition, bool]:
        """Deploy one .bpmn file and commit; returns (version row, whether it is new)."""
        try:
            result = self.definitions.deploy(db.session, path.read_bytes(), path.name, deployed_by)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    def deploy_folder(self, deployed_by: str) -> list[tuple[WorkflowDefinition, bool]]:
        return [self.deploy_file(p, deployed_by) for p in sorted(self.workflows_dir.glob("*.bpmn"))]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build_engine(app: Flask) -> Engine:
    operators = build_registry()
    forms = FormLibrary(app.config["FORMS_DIR"])
    definitions = DefinitionStore(Linter(operators, forms, HELPER_NAMES), int(app.config["MAX_DIAGRAM_BYTES"]))
    runner = Runner(lambda: db.session, definitions, operators, forms, app.config, _utcnow)
    reader = InstanceReader(lambda: db.session, definitions, runner.serializer)
    return Engine(definitions, operators, forms, runner, reader, Path(app.config["WORKFLOWS_DIR"]))


def get_engine() -> Engine:
    return current_app.extensions["workflow_engine"]  # type: ignore[no-any-return]
