/* 统计 page: every <div data-chart='{"kind", "categories", "series"}'> becomes an ECharts chart (vendor/echarts).
   kind "hbar": horizontal bars, one row per category (long task and region names stay readable);
   kind "months": bars per month, and series with "axis": 1 as a line on a second axis (yuan beside counts).
   The table under each chart holds the same numbers. Content-Security-Policy: the canvas renderer and the
   rich-text tooltip draw inside the canvas; sizes are set through the CSSOM, which the policy allows. */
(function () {
  "use strict";

  var ROW_HEIGHT = 28; // px per bar of a horizontal chart
  var MIN_HEIGHT = 200;
  var COLOURS = ["#b0131e", "#1252a8", "#b35c00", "#2e7d46"]; // the site's red first (app.css --gov-red)

  function nonZero(point) { // a month without registrations shows no "0" over its empty bar
    return point.value ? String(point.value) : "";
  }

  function valueAxis(name) {
    return { type: "value", name: name || "", minInterval: 1, splitLine: { lineStyle: { color: "#e5e5e5" } } };
  }

  function series(spec, horizontal) {
    return spec.series.map(function (one) {
      var shown = { name: one.name, type: one.type || "bar", data: one.data, barMaxWidth: 28,
                    label: { show: true, position: horizontal ? "right" : "top", color: "#212529", formatter: nonZero } };
      if (one.axis) { shown.yAxisIndex = one.axis; }
      return shown;
    });
  }

  function option(spec) {
    var horizontal = spec.kind === "hbar";
    var categories = { type: "category", data: spec.categories, inverse: horizontal,
                       axisLabel: { interval: 0, width: horizontal ? 260 : 80, overflow: "truncate", color: "#212529" } };
    var lined = spec.series.filter(function (one) { return one.axis; });
    var values = lined.length ? [valueAxis(), valueAxis(lined[0].name)] : [valueAxis()];
    return {
      animation: false,
      color: COLOURS,
      aria: { enabled: false }, // the element is one image named by its heading; the table has the numbers
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: spec.series.length > 1 ? { top: 0, textStyle: { color: "#212529" } } : { show: false },
      grid: { left: 8, right: 48, top: spec.series.length > 1 ? 36 : 12, bottom: 8, containLabel: true },
      xAxis: horizontal ? values[0] : categories,
      yAxis: horizontal ? categories : values,
      series: series(spec, horizontal)
    };
  }

  function draw(element) {
    var spec = JSON.parse(element.getAttribute("data-chart"));
    if (spec.kind === "hbar") {
      var rows = spec.categories.length * spec.series.length;
      element.style.height = Math.max(MIN_HEIGHT, rows * ROW_HEIGHT + 60) + "px";
    }
    var locale = document.documentElement.lang.indexOf("zh") === 0 ? "ZH" : "EN";
    var chart = window.echarts.init(element, null, { renderer: "canvas", locale: locale });
    chart.setOption(option(spec));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
})();
