/* Reads and writes of the diagram's business objects through bpmn-js's modeling API, so every change
   is an undoable command and the XML the modeler saves is what SpiffWorkflow parses:
   spiffworkflow:properties/property, serviceTaskOperator with parameters, instructionsForEndUser,
   messageVariable, conditions, timers, scripts, documentation. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});

  Studio.Model = function (modeler) {
    const modeling = modeler.get("modeling");
    const moddle = modeler.get("moddle");
    const canvas = modeler.get("canvas");
    const registry = modeler.get("elementRegistry");

    function update(element, target, props) { modeling.updateModdleProperties(element, target, props); }

    function create(type, attrs, parent) {
      const made = moddle.create(type, attrs || {});
      if (parent) { made.$parent = parent; }
      return made;
    }

    // ---- extension elements ---------------------------------------------------------------

    function extensionValues(bo) {
      const ext = bo.get("extensionElements");
      return ext ? ext.get("values") : [];
    }

    function findExtension(bo, type) { return extensionValues(bo).find((v) => v.$instanceOf && v.$instanceOf(type)); }

    function ensureExtension(element, bo, type) {
      let ext = bo.get("extensionElements");
      if (!ext) {
        ext = create("bpmn:ExtensionElements", { values: [] }, bo);
        update(element, bo, { extensionElements: ext });
      }
      let found = findExtension(bo, type);
      if (!found) {
        found = create(type, {}, ext);
        update(element, ext, { values: ext.get("values").concat([found]) });
      }
      return found;
    }

    function removeExtension(element, bo, item) {
      const ext = bo.get("extensionElements");
      if (ext && item) { update(element, ext, { values: ext.get("values").filter((v) => v !== item) }); }
    }

    /** The body text of a one-text extension (instructionsForEndUser, messageVariable); "" (empty) removes it. */
    function setExtensionText(element, bo, type, text) {
      const existing = findExtension(bo, type);
      if (!text) { removeExtension(element, bo, existing); return; }
      update(element, existing || ensureExtension(element, bo, type), { value: text });
    }

    // ---- spiffworkflow:properties ------------------------------------------------------------

    function properties(bo) {
      const box = findExtension(bo, "spiffworkflow:Properties");
      const found = {};
      (box ? box.get("items") : []).forEach((item) => { found[item.name] = item.value || ""; });
      return found;
    }

    function setProperty(element, bo, name, value) {
      const box = findExtension(bo, "spiffworkflow:Properties");
      const items = box ? box.get("items") : [];
      const existing = items.find((item) => item.name === name);
      if (value === "" || value === null || value === undefined) {
        if (!existing) { return; }
        const rest = items.filter((item) => item !== existing);
        if (rest.length) { update(element, box, { items: rest }); } else { removeExtension(element, bo, box); }
        return;
      }
      if (existing) { update(element, existing, { value: value }); return; }
      const target = box || ensureExtension(element, bo, "spiffworkflow:Properties");
      update(element, target, { items: target.get("items").concat([create("spiffworkflow:Property", { name, value }, target)]) });
    }

    function renameProperty(element, bo, oldName, newName) {
      const value = properties(bo)[oldName];
      if (!newName || newName === oldName || value === undefined) { return; }
      setProperty(element, bo, oldName, "");
      setProperty(element, bo, newName, value);
    }

    // ---- service task operator ------------------------------------------------------------------

    function operator(bo) {
      const op = findExtension(bo, "spiffworkflow:ServiceTaskOperator");
      if (!op) { return null; }
      const list = op.get("parameterList");
      const params = {};
      (list ? list.get("items") : []).forEach((p) => { params[p.id] = { type: p.type || "", value: p.value || "" }; });
      return { name: op.id || "", resultVariable: op.resultVariable || "", params };
    }

    function setOperator(element, bo, name, paramTypes) {
      const op = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator");
      update(element, op, { id: name });
      const current = operator(bo).params;
      const list = op.get("parameterList") || create("spiffworkflow:Parameters", { items: [] }, op);
      const items = Object.keys(paramTypes).map((id) =>
        create("spiffworkflow:Parameter", { id, type: paramTypes[id], value: (current[id] || {}).value || "" }, list));
      update(element, list, { items });
      if (!op.get("parameterList")) { update(element, op, { parameterList: list }); }
    }

    function setResultVariable(element, bo, value) {
      update(element, ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator"), { resultVariable: value || undefined });
    }

    function setParameter(element, bo, id, type, value) {
      const op = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator");
      let list = op.get("parameterList");
      if (!list) {
        list = create("spiffworkflow:Parameters", { items: [] }, op);
        update(element, op, { parameterList: list });
      }
      const existing = list.get("items").find((p) => p.id === id);
      if (value === null) {
        update(element, list, { items: list.get("items").filter((p) => p !== existing) });
      } else if (existing) {
        update(element, existing, { value });
      } else {
        update(element, list, { items: list.get("items").concat([create("spiffworkflow:Parameter", { id, type, value }, list)]) });
      }
    }

    // ---- plain BPMN ---------------------------------------------------------------------------

    function documentation(bo) {
      const docs = bo.get("documentation") || [];
      return docs.length ? docs[0].text || "" : "";
    }

    function setDocumentation(element, bo, text) {
      update(element, bo, { documentation: text ? [create("bpmn:Documentation", { text }, bo)] : [] });
    }

    function expressionText(expression) { return expression ? expression.body || "" : ""; }

    function formal(text, parent) { return text ? create("bpmn:FormalExpression", { body: text }, parent) : undefined; }

    function setCondition(element, text) {
      modeling.updateProperties(element, { conditionExpression: formal(text, element.businessObject) });
    }

    function setDefaultFlow(flow, isDefault) {
      const gateway = flow.source;
      const current = gateway.businessObject.default;
      if (isDefault) { modeling.updateProperties(gateway, { default: flow.businessObject }); }
      else if (current === flow.businessObject) { modeling.updateProperties(gateway, { default: undefined }); }
    }

    const TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];

    function timer(definition) {
      const kind = TIMER_KINDS.find((k) => definition.get(k)) || "timeDate";
      return { kind, expression: expressionText(definition.get(kind)) };
    }

    function setTimer(element, definition, kind, text) {
      const props = {};
      TIMER_KINDS.forEach((k) => { props[k] = k === kind ? formal(text, definition) : undefined; });
      update(element, definition, props);
    }

    /** The executable process and the shape that stands for it (a participant, or the root). */
    function processTarget() {
      const root = canvas.getRootElement();
      if (root.businessObject.$instanceOf("bpmn:Process")) { return { element: root, bo: root.businessObject }; }
      const participant = registry.filter((e) => e.type === "bpmn:Participant" && e.businessObject.processRef)[0];
      return participant ? { element: participant, bo: participant.businessObject.processRef } : null;
    }

    function messages() {
      const definitions = modeler.getDefinitions();
      return (definitions.get("rootElements") || []).filter((e) => e.$instanceOf("bpmn:Message"));
    }

    return {
      modeling, moddle, update, properties, setProperty, renameProperty, findExtension, setExtensionText,
      operator, setOperator, setResultVariable, setParameter, documentation, setDocumentation,
      expressionText, setCondition, setDefaultFlow, timer, setTimer, processTarget, messages,
    };
  };
})();
