"""Deploy check: every flow node and sequence flow has a place in the diagram's layout (bpmndi).

The unit's and reviewers' progress view draws the diagram from that layout; an element without one
is invisible there, so an application waiting at it would seem to be nowhere.
"""

from __future__ import annotations

from app.engine.definitions import CompiledDefinition

Problem = tuple[str, str]
_NO_LAYOUT = "流程图没有图形布局（bpmndi），办理进度图无法显示，请在流程图编辑器中打开、摆放各元素并保存后再部署"
_NOT_PLACED = "元素“{}”没有图形位置，在办理进度图中看不到，请在流程图编辑器中摆放后再部署"


def layout_problems(compiled: CompiledDefinition) -> list[Problem]:
    if not compiled.drawn:  # no layout at all: one refusal says more than one per element
        return [(compiled.process_id, _NO_LAYOUT)]
    unplaced = [element for element in compiled.flow_elements if element not in compiled.drawn]
    return [(element, _NOT_PLACED.format(compiled.names.get(element, element))) for element in unplaced]
