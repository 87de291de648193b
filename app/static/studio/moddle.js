/* The `spiffworkflow` namespace for bpmn-js's moddle, so the modeler reads and writes the extension
   elements SpiffWorkflow parses (docs/diagrams.md): properties, service task operators with their
   parameters, instructions for the end user, message variables and payloads, pre- and post-scripts.
   Every element of this namespace that SpiffWorkflow's schema knows is described here: an element
   of a known namespace that the descriptor lacks would be dropped on import. */
(function () {
  "use strict";

  function textElement(name) {
    return { name: name, superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] };
  }

  function attributes(names) {
    return names.map(function (name) { return { name: name, isAttr: true, type: "String" }; });
  }

  window.Studio = window.Studio || {};
  window.Studio.moddle = {
    name: "SpiffWorkflow",
    uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    prefix: "spiffworkflow",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [
      // <spiffworkflow:properties><spiffworkflow:property name="stage" value="初审中"/></spiffworkflow:properties>
      { name: "Properties", superClass: ["Element"], properties: [{ name: "items", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: attributes(["name", "value"]) },
      // <spiffworkflow:serviceTaskOperator id="notify.send" resultVariable="r"><spiffworkflow:parameters>…
      {
        name: "ServiceTaskOperator",
        superClass: ["Element"],
        properties: attributes(["id", "resultVariable"]).concat([{ name: "parameterList", type: "Parameters" }]),
      },
      { name: "Parameters", superClass: ["Element"], properties: [{ name: "items", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"], properties: attributes(["id", "type", "value"]) },
      textElement("InstructionsForEndUser"),
      textElement("MessageVariable"),
      textElement("MessagePayload"),
      textElement("PreScript"),
      textElement("PostScript"),
      textElement("CalledDecisionId"),
    ],
  };
})();
