/* Patrol tracks on the main map (巡查轨迹, 第二十二条): the last 30 days' tracks in the user's
 * scope, green when the track proves the patrol, orange when it is flagged (too short, driven
 * past, gaps, low coverage). Off until chosen in the layer switcher; loaded by viewport.
 * Popups are built from text nodes, never HTML strings. */
(function () {
  "use strict";
  var rc = window.roadchiefMap;
  var container = document.getElementById("map");
  if (!rc || !container || typeof L === "undefined") { return; }
  var api = container.getAttribute("data-patrols-api");
  if (!api) { return; }
  var map = rc.map, el = rc.el;
  var PASS = "#2e7d32", FLAG = "#e65100";

  function popup(p) {
    var box = el("div", "seg-popup");
    [["巡查轨迹", p.kind], ["巡查人", p.patroller], ["开始", p.started_at],
     ["里程", p.length_m + " 米"], ["时长", Math.round(p.duration_s / 60) + " 分钟"],
     ["最高覆盖率", p.coverage_pct + "%"], ["核验", p.passed ? "通过" : "未通过"],
     ["标记", (p.flags || []).join("、")]].forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined || pair[1] === "") { return; }
      var row = el("div", "popup-row");
      row.appendChild(el("strong", null, pair[0] + "："));
      row.appendChild(document.createTextNode(String(pair[1])));
      box.appendChild(row);
    });
    if (p.url) { var a = el("a", "popup-link", "轨迹详情"); a.href = p.url; box.appendChild(a); }
    return box;
  }

  var layer = L.geoJSON(null, {
    style: function (feature) {
      var ok = feature.properties.passed;
      return { color: ok ? PASS : FLAG, weight: 4, opacity: 0.85, dashArray: ok ? null : "6 5",
               className: ok ? "patrol-line patrol-pass" : "patrol-line patrol-flag" };
    },
    onEachFeature: function (feature, line) { line.bindPopup(function () { return popup(feature.properties); }); }
  });
  rc.layersControl.addOverlay(layer, '<span class="overlay-swatch overlay-patrol"></span>巡查轨迹（30 天）');

  var controller = null, timer = null;
  function load() {
    if (!map.hasLayer(layer)) { return; }
    var b = map.getBounds().pad(0.3);
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    if (controller) { controller.abort(); }
    var mine = window.AbortController ? new AbortController() : null;
    controller = mine;
    fetch(api + "?bbox=" + bbox, { credentials: "same-origin", signal: mine ? mine.signal : undefined })
      .then(function (response) { return response.ok ? response.json() : { features: [] }; })
      .then(function (data) {
        if (controller !== mine) { return; }
        layer.clearLayers();
        layer.addData(data.features || []);
        container.setAttribute("data-patrols", String((data.features || []).length));
      })
      .catch(function () { /* an extra layer: the roads still show */ });
  }
  function reload() { clearTimeout(timer); timer = setTimeout(load, 300); }
  map.on("moveend", reload);
  map.on("overlayadd", function (event) { if (event.layer === layer) { reload(); } });
  rc.patrolLayer = { layer: layer, reload: reload };
}());
