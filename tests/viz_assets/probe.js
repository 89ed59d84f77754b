// Test probe for the amtlocal report, injected first into <head> of a copy of the report (the report itself has
// no such script). It records console errors/warnings, failed loads and any network resource, then, once the
// charts are drawn, hovers one training job and brushes the first view, and writes what it saw as JSON into
// a hidden PRE element with id __amtlocal_probe, which `chromium --dump-dom` prints.
(function () {
  var probe = {errors: [], warnings: [], resources: []};
  function show() {
    var el = document.getElementById("__amtlocal_probe");
    if (!el) {
      el = document.createElement("pre");
      el.id = "__amtlocal_probe";
      el.style.display = "none";
      (document.body || document.documentElement).appendChild(el);
    }
    el.textContent = JSON.stringify(probe);
  }
  function text(args) {
    return Array.prototype.map.call(args, function (a) { return a && a.stack ? String(a.stack) : String(a); }).join(" ");
  }
  var origError = console.error, origWarn = console.warn;
  console.error = function () { probe.errors.push(text(arguments)); origError.apply(console, arguments); };
  console.warn = function () { probe.warnings.push(text(arguments)); origWarn.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    probe.errors.push(e.message ? e.message : "failed to load " + (e.target && (e.target.src || e.target.href)));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { probe.errors.push("unhandled rejection: " + e.reason); });

  function markGroup(viewName) {  // the <g> of a view's marks (Vega names it "<view>_marks", maybe "<view>_<n>_marks")
    var groups = document.querySelectorAll("#amtlocal-charts g.role-mark");
    var re = new RegExp("(^| )" + viewName + "(_\\d+)?_marks( |$)");
    for (var i = 0; i < groups.length; i++) { if (re.test(groups[i].getAttribute("class"))) return groups[i]; }
    return null;
  }
  function litJobs() {  // training jobs of the marks drawn with the hover outline
    var out = [];
    document.querySelectorAll('#amtlocal-charts [stroke="black"]').forEach(function (el) {
      var d = el.__data__ && el.__data__.datum;
      if (d && d.TrainingJobName) out.push(d.TrainingJobName);
    });
    return out;
  }
  function fire(target, type, x, y, Ctor) {
    target.dispatchEvent(new (Ctor || MouseEvent)(type, {
      bubbles: true, cancelable: true, clientX: x, clientY: y, pointerId: 1, pointerType: "mouse", button: 0,
      buttons: /up|over|out/.test(type) ? 0 : 1, view: window}));
  }
  function opacities(viewName) {
    var g = markGroup(viewName);
    return g ? Array.prototype.map.call(g.querySelectorAll("path"), function (p) { return p.getAttribute("opacity"); }) : null;
  }

  window.addEventListener("load", function () {
    setTimeout(function () {
      probe.resources = performance.getEntriesByType("resource").map(function (r) { return r.name; });
      probe.svg = document.querySelectorAll("#amtlocal-charts svg").length;
      probe.canvas = document.querySelectorAll("#amtlocal-charts canvas").length;
      probe.marks = document.querySelectorAll("#amtlocal-charts svg path, #amtlocal-charts svg rect, #amtlocal-charts svg text").length;
      probe.litBefore = litJobs().length;
      var group = markGroup("progress");
      var point = group && group.querySelector("path");
      if (!point) { probe.done = true; show(); return; }
      var r = point.getBoundingClientRect();
      probe.hovered = point.__data__ && point.__data__.datum && point.__data__.datum.TrainingJobName;
      fire(point, "mouseover", r.x + r.width / 2, r.y + r.height / 2);
      setTimeout(function () {
        probe.lit = litJobs();
        fire(point, "mouseout", r.x + r.width / 2, r.y + r.height / 2);
        probe.opacityBefore = opacities("hp1");
        var box = group.parentNode.getBoundingClientRect();  // the view's group: drag over its left half
        var x0 = box.x + 2, x1 = box.x + box.width * 0.5, y = box.y + box.height / 2;
        fire(point, "pointerdown", x0, y, PointerEvent); fire(point, "mousedown", x0, y);
        fire(window, "pointermove", x1, y, PointerEvent); fire(window, "mousemove", x1, y);
        fire(window, "pointerup", x1, y, PointerEvent); fire(window, "mouseup", x1, y);
        setTimeout(function () {
          probe.opacityAfter = opacities("hp1");
          probe.done = true;
          show();
        }, 500);
      }, 500);
    }, 1500);
  });
  document.addEventListener("DOMContentLoaded", show);
})();
