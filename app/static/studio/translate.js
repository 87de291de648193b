/* Chinese for the modeler's palette, context pad and change-type menu (bpmn-js `translate` service), and
   the modeler without a tool the page's CSP would block. Untranslated strings stay as bpmn-js says them. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});
  const ZH = {
    "Activate hand tool": "抓手（拖动画布）",
    "Activate lasso tool": "框选",
    "Activate create/remove space tool": "插入或删除空白",
    "Activate global connect tool": "连线",
    "Create start event": "开始事件",
    "Create intermediate/boundary event": "中间事件",
    "Create end event": "结束事件",
    "Create gateway": "网关",
    "Create task": "任务",
    "Create data object reference": "数据对象",
    "Create data store reference": "数据存储",
    "Create expanded sub-process": "子流程",
    "Create pool/participant": "池",
    "Create group": "分组",
    "Append end event": "接结束事件",
    "Append gateway": "接网关",
    "Append task": "接任务",
    "Append intermediate/boundary event": "接中间事件",
    "Append timer intermediate catch event": "接定时等待",
    "Append message intermediate catch event": "接消息等待",
    "Add text annotation": "添加注释",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "分为两个泳道",
    "Divide into three lanes": "分为三个泳道",
    "Change element": "更改类型",
    "Change type": "更改类型",
    "Delete": "删除",
    "Connect to other element": "连接到其他元素",
    "Connect using association": "用关联连接",
    "Search in diagram": "在图中查找",
    "Align elements": "对齐",
    "Distribute elements horizontally": "水平均匀分布",
    "Distribute elements vertically": "垂直均匀分布",
    "Task": "任务",
    "User task": "用户任务（由人办理）",
    "Service task": "服务任务（系统操作）",
    "Script task": "脚本任务",
    "Start event": "开始事件",
    "End event": "结束事件",
    "Terminate end event": "终止结束事件",
    "Message end event": "消息结束事件",
    "Intermediate throw event": "中间抛出事件",
    "Message intermediate catch event": "等待消息",
    "Message intermediate throw event": "发出消息",
    "Timer intermediate catch event": "定时等待",
    "Message boundary event": "边界消息事件",
    "Timer boundary event": "边界定时事件",
    "Exclusive gateway": "排他网关（选一条路）",
    "Parallel gateway": "并行网关",
    "Inclusive gateway": "包容网关",
    "Event-based gateway": "事件网关",
    "Sequence flow": "普通连线",
    "Default flow": "默认路径",
    "Conditional flow": "条件连线",
    "Sub-process (collapsed)": "子流程（折叠）",
    "Sub-process (expanded)": "子流程（展开）",
  };

  function translate(template, replacements) {
    const text = ZH[template] || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements && key in replacements ? replacements[key] : "{" + key + "}"));
  }

  Studio.translateModule = { translate: ["value", translate] };
})();

/* Without the one modeler tool whose icons are SVG with inline styles (align elements, on the context pad
   of a multi-selection): the page's Content-Security-Policy forbids inline styles, and would block them. */
(function () {
  "use strict";

  const Studio = (window.Studio = window.Studio || {});

  function WithoutAlign(contextPad) { contextPad.registerProvider(100, this); } // after bpmn-js's own providers
  WithoutAlign.$inject = ["contextPad"];
  WithoutAlign.prototype.getMultiElementContextPadEntries = function () {
    return function (entries) {
      delete entries["align-elements"];
      return entries;
    };
  };

  Studio.withoutAlignModule = { __init__: ["studioWithoutAlign"], studioWithoutAlign: ["type", WithoutAlign] };
})();
