/* Operations layers on the main map (第十四条 先抢通、后修复; 第十一条 路产):
 * road events (red while traffic is interrupted, orange until repaired), their detours
 * (dashed purple), and road assets. Loaded by viewport like the other layers; every
 * popup is built from text nodes, never HTML strings. */
(function () {
  "use strict";
  var rc = window.roadchiefMap;
  var container = document.getElementById("map");
  if (!rc || !container || typeof L === "undefined") { return; }
  var map = rc.map;
  var el = rc.el;
  var eventsApi = container.getAttribute("data-events-api");
  var assetsApi = container.getAttribute("data-assets-api");
  var eventUrlZero = container.getAttribute("data-event-url");
  var assetUrlZero = container.getAttribute("data-asset-url");

  function link(zeroUrl, id, text) {
    if (!zeroUrl) { return null; }
    var a = el("a", "popup-link", text);
    a.href = zeroUrl.replace(/0$/, String(id));
    return a;
  }

  function popup(lines, anchor) {
    var box = el("div", "seg-popup");
    lines.forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined || pair[1] === "") { return; }
      var row = el("div", "popup-row");
      row.appendChild(el("strong", null, pair[0] + "："));
      row.appendChild(document.createTextNode(String(pair[1])));
      box.appendChild(row);
    });
    if (anchor) { box.appendChild(anchor); }
    return box;
  }

  var eventLayer = L.geoJSON(null, {
    pointToLayer: function (feature, latlng) {
      var p = feature.properties;
      return L.circleMarker(latlng, { radius: 9, weight: 2, color: "#fff", fillOpacity: 0.9,
                                      fillColor: p.interrupted ? "#c62828" : "#ef6c00",
                                      className: p.interrupted ? "event-marker event-closed" : "event-marker" });
    },
    style: function (feature) {
      return feature.properties.layer === "detour" ? { color: "#6a1b9a", weight: 4, dashArray: "8 6", opacity: 0.9 } : {};
    },
    onEachFeature: function (feature, layer) {
      var p = feature.properties;
      layer.bindPopup(function () {
        if (p.layer === "detour") { return popup([["绕行路线", p.detour]], link(eventUrlZero, p.id, "事件详情")); }
        return popup([["事件", p.kind_label + (p.interrupted ? "（交通中断）" : "")], ["状态", p.state_label],
                      ["路线", p.road_code], ["位置", p.place], ["发生时间", p.occurred_at],
                      ["警示标志", p.warning_sign], ["绕行", p.detour]], link(eventUrlZero, p.id, "事件详情"));
      });
    }
  });
  var assetLayer = L.geoJSON(null, {
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, { radius: 5, weight: 1, color: "#37474f", fillColor: "#90a4ae", fillOpacity: 0.9,
                                      className: "asset-marker" });
    },
    style: function () { return { color: "#37474f", weight: 3, opacity: 0.8 }; },
    onEachFeature: function (feature, layer) {
      var p = feature.properties;
      layer.bindPopup(function () {
        return popup([["路产", p.kind_label], ["编号", p.code], ["名称", p.name], ["桩号", p.stake],
                      ["状况", p.condition_label]], link(assetUrlZero, p.id, "路产详情"));
      });
    }
  });
  eventLayer.addTo(map);
  rc.layersControl.addOverlay(eventLayer, '<span class="overlay-icon mk-event"></span>突发事件');
  rc.layersControl.addOverlay(assetLayer, '<span class="overlay-icon mk-asset"></span>路产');

  var controllers = {};
  function load(url, layer, key) {
    if (!url || !map.hasLayer(layer)) { return; }
    var b = map.getBounds().pad(0.3);
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    if (controllers[key]) { controllers[key].abort(); }
    var controller = window.AbortController ? new AbortController() : null;
    controllers[key] = controller;
    fetch(url + "?bbox=" + bbox, { credentials: "same-origin", signal: controller ? controller.signal : undefined })
      .then(function (response) { return response.ok ? response.json() : { features: [] }; })
      .then(function (data) {
        if (controllers[key] !== controller) { return; }
        layer.clearLayers();
        layer.addData(data.features || []);
        container.setAttribute("data-" + key, String((data.features || []).length));
      })
      .catch(function () { /* the roads still show; these layers are extras */ });
  }
  var timer = null;
  function reload() {
    clearTimeout(timer);
    timer = setTimeout(function () { load(eventsApi, eventLayer, "events"); load(assetsApi, assetLayer, "assets"); }, 300);
  }
  map.on("moveend", reload);
  map.on("overlayadd", function (event) { if (event.layer === eventLayer || event.layer === assetLayer) { reload(); } });
  map.whenReady(reload);  // only once the map has a view: getBounds() throws before that
  rc.operationsLayers = { events: eventLayer, assets: assetLayer, reload: reload };
}());
