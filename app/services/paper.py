"""The paper materials a procedure asks for, as its diagram lists them, for the unit's and the 编办's pages.

The process properties say what to bring: `paperMaterials` (names, separated by ";"), `paperCopies` (一式几份)
and `idCardCopyRequired`. A material whose name is the title of one of the version's print templates is
printed by the platform and links to its PDF once the diagram lets it print (`documentsAvailableAfter`);
the list is shown from then on, while the application is still open. Where the paper goes is the
同级机构编制部门 of the unit (the office that collects its fees).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.engine.definitions import CompiledDefinition
from app.models import ProcessInstance, Unit
from app.services import documents, id_card_copies


@dataclass(frozen=True)
class Material:
    title: str
    document: str  # the print template's name when the platform prints it, else ""


@dataclass(frozen=True)
class PaperMaterials:
    materials: list[Material]
    copies: str
    id_card_copy: bool
    office: str  # the office the paper is brought to
    id_copy: id_card_copies.CopyState | None  # the electronic copy, where the procedure asks for the ID copy


def materials(
    session: Session, instance: ProcessInstance, compiled: CompiledDefinition, done: list[str]
) -> PaperMaterials | None:
    """The materials to bring while the application is open and its documents may be printed; None when the
    procedure asks for no paper, before its documents print, and once it has ended."""
    props = compiled.process_properties
    titles = [t.strip() for t in props.get("paperMaterials", "").split(";") if t.strip()]
    after = props.get(documents.AVAILABLE_AFTER)
    if not titles or not after or after not in done or instance.status != "running":
        return None
    printed = {t.title: t.name for t in documents.templates_for(compiled)}
    id_card_copy = props.get("idCardCopyRequired") == "true"
    unit = session.get(Unit, instance.unit_id)
    return PaperMaterials(
        materials=[Material(title, printed.get(title, "")) for title in titles],
        copies=props.get("paperCopies", "1"),
        id_card_copy=id_card_copy,
        office=documents.paper_office_name(session, unit) if unit is not None else "",
        id_copy=id_card_copies.state(session, instance, compiled, done) if id_card_copy else None,
    )
