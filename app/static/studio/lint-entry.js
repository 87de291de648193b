/* bpmnlint for the studio's editor, bundled by scripts/setup.sh (esbuild) into
   app/static/vendor/bpmnlint/studio-lint.js as the global `StudioLint`.

   The rules are resolved statically (no file system in the browser): bpmnlint's recommended
   set, each rule's report in Chinese for policy staff. The server's deploy check stays the
   authority; these rules catch drawing mistakes while the diagram is being edited. */
import { Linter } from "bpmnlint";
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";
import recommended from "bpmnlint/config/recommended";

import adHocSubProcess from "bpmnlint/rules/ad-hoc-sub-process";
import conditionalFlows from "bpmnlint/rules/conditional-flows";
import endEventRequired from "bpmnlint/rules/end-event-required";
import eventBasedGateway from "bpmnlint/rules/event-based-gateway";
import eventSubProcessTypedStartEvent from "bpmnlint/rules/event-sub-process-typed-start-event";
import fakeJoin from "bpmnlint/rules/fake-join";
import global from "bpmnlint/rules/global";
import labelRequired from "bpmnlint/rules/label-required";
import linkEvent from "bpmnlint/rules/link-event";
import noBpmndi from "bpmnlint/rules/no-bpmndi";
import noComplexGateway from "bpmnlint/rules/no-complex-gateway";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import noGatewayJoinFork from "bpmnlint/rules/no-gateway-join-fork";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";
import noImplicitEnd from "bpmnlint/rules/no-implicit-end";
import noImplicitStart from "bpmnlint/rules/no-implicit-start";
import noInclusiveGateway from "bpmnlint/rules/no-inclusive-gateway";
import noOverlappingElements from "bpmnlint/rules/no-overlapping-elements";
import singleBlankStartEvent from "bpmnlint/rules/single-blank-start-event";
import singleEventDefinition from "bpmnlint/rules/single-event-definition";
import startEventRequired from "bpmnlint/rules/start-event-required";
import subProcessBlankStartEvent from "bpmnlint/rules/sub-process-blank-start-event";
import superfluousGateway from "bpmnlint/rules/superfluous-gateway";
import superfluousLabel from "bpmnlint/rules/superfluous-label";
import superfluousTermination from "bpmnlint/rules/superfluous-termination";

const RULES = {
  "ad-hoc-sub-process": [adHocSubProcess, "自由子流程的用法不正确"],
  "conditional-flows": [conditionalFlows, "网关分出的连线须写条件（或设为默认路径）"],
  "end-event-required": [endEventRequired, "流程须有结束事件"],
  "event-based-gateway": [eventBasedGateway, "事件网关之后只能连接捕获事件"],
  "event-sub-process-typed-start-event": [eventSubProcessTypedStartEvent, "事件子流程的开始事件须指定类型"],
  "fake-join": [fakeJoin, "多条连线直接汇入一个任务，请改用网关汇合"],
  "global": [global, "全局元素（消息等）定义有误或重复"],
  "label-required": [labelRequired, "缺少名称：请在属性中填写名称"],
  "link-event": [linkEvent, "链接事件须成对使用且名称一致"],
  "no-bpmndi": [noBpmndi, "元素没有画在图上（缺少图形信息）"],
  "no-complex-gateway": [noComplexGateway, "不支持复杂网关"],
  "no-disconnected": [noDisconnected, "元素没有与流程连通"],
  "no-duplicate-sequence-flows": [noDuplicateSequenceFlows, "两个元素之间有重复的连线"],
  "no-gateway-join-fork": [noGatewayJoinFork, "同一个网关不能既汇合又分支，请拆成两个网关"],
  "no-implicit-split": [noImplicitSplit, "一个任务引出多条连线，请改用网关分支"],
  "no-implicit-end": [noImplicitEnd, "流程在此处没有结束事件就停止了"],
  "no-implicit-start": [noImplicitStart, "元素没有来路，也不是开始事件"],
  "no-inclusive-gateway": [noInclusiveGateway, "包容网关不易理解，请确认确有必要"],
  "no-overlapping-elements": [noOverlappingElements, "元素相互重叠"],
  "single-blank-start-event": [singleBlankStartEvent, "只能有一个普通开始事件"],
  "single-event-definition": [singleEventDefinition, "一个事件只能有一种定义（定时、消息等）"],
  "start-event-required": [startEventRequired, "流程须有开始事件"],
  "sub-process-blank-start-event": [subProcessBlankStartEvent, "子流程须以普通开始事件开始"],
  "superfluous-gateway": [superfluousGateway, "网关只有一进一出，可以删除"],
  "superfluous-label": [superfluousLabel, "没有条件的连线不必写名称"],
  "superfluous-termination": [superfluousTermination, "终止结束事件在此处没有作用，可改为普通结束事件"],
};

const cache = { "config:bpmnlint/recommended": recommended };
Object.keys(RULES).forEach((name) => { cache["rule:bpmnlint/" + name] = RULES[name][0]; });

const resolver = new StaticResolver(cache);

/** Problems of a diagram (the modeler's definitions): [{element, rule, category, message}]. */
export function lint(definitions) {
  // A linter per run: bpmnlint keeps each rule instance, and some rules remember what they saw.
  const linter = new Linter({ resolver, config: { extends: "bpmnlint:recommended" } });
  return linter.lint(definitions).then((results) => {
    const problems = [];
    Object.keys(results).forEach((rule) => {
      results[rule].forEach((report) => {
        const chinese = RULES[rule] ? RULES[rule][1] : report.message;
        problems.push({
          element: report.id || "",
          rule,
          category: report.category === "error" || report.category === "rule-error" ? "error" : "warn",
          message: chinese,
        });
      });
    });
    return problems;
  });
}
