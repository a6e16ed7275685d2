/* Small event maps (第十四条 绕行路线), vendored Leaflet, no inline script:
   <div data-detour-map="edit" data-target="ID of the hidden input" data-segment='GeoJSON Feature'
        data-segment-select="ID of a <select> of segments" data-segment-url=".../segments/0.json">
     taps on the map add points to the detour line (undo last point, clear); the hidden input
     receives a GeoJSON LineString once there are two points, "" otherwise.
   <div data-detour-map="view" data-segment='Feature' data-detour='LineString' data-point='[lon, lat]'>
     the segment, the drawn detour and the event point, read only.
   Buttons next to an edit map: [data-detour-action=undo|clear]; a .detour-count element says how many points.
   Tiles only when data-tile-url is set; otherwise a plain background (works offline). */
(function () {
  "use strict";

  var SEGMENT_STYLE = { color: "#1f5f99", weight: 6, opacity: 0.9 };
  var DETOUR_STYLE = { color: "#d84315", weight: 5, opacity: 0.95, dashArray: "10 6" };
  var HOME = [38.0, 106.05];

  function parse(text) {
    if (!text) { return null; }
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function toLatLngs(line) {
    if (!line || line.type !== "LineString" || !line.coordinates) { return []; }
    return line.coordinates.map(function (c) { return L.latLng(c[1], c[0]); });
  }

  function round6(v) { return Math.round(v * 1e6) / 1e6; }

  function baseMap(el, interactive) {
    var tileUrl = el.getAttribute("data-tile-url");
    var map = L.map(el, {
      scrollWheelZoom: false,
      dragging: interactive || !L.Browser.mobile,  // a view map lets one finger scroll the page
      tap: true,
      zoomSnap: 0.5,
      attributionControl: !!tileUrl
    });
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 18, attribution: el.getAttribute("data-tile-attribution") || "" }).addTo(map);
    }
    map.setView(HOME, 10);
    return map;
  }

  function segmentLayer(feature) {
    return L.geoJSON(feature, { style: SEGMENT_STYLE, interactive: false });
  }

  function fit(map, layers) {
    var bounds = null;
    layers.forEach(function (layer) {
      if (!layer) { return; }
      var b = layer.getBounds ? layer.getBounds() : null;
      if (b && b.isValid()) { bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast()); }
    });
    if (bounds) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 }); }
  }

  function onShown(el, callback) {
    // a map inside a closed <details> has no size until it opens
    var details = el.closest ? el.closest("details") : null;
    if (details) { details.addEventListener("toggle", function () { if (details.open) { callback(); } }); }
  }

  function view(el) {
    var map = baseMap(el, false);
    var layers = [];
    var segment = parse(el.getAttribute("data-segment"));
    if (segment) { layers.push(segmentLayer(segment).addTo(map)); }
    var detour = parse(el.getAttribute("data-detour"));
    var points = toLatLngs(detour);
    if (points.length > 1) {
      layers.push(L.polyline(points, DETOUR_STYLE).addTo(map));
      L.circleMarker(points[0], { radius: 5, color: "#fff", weight: 2, fillColor: "#d84315", fillOpacity: 1 }).addTo(map);
      L.circleMarker(points[points.length - 1], { radius: 5, color: "#fff", weight: 2, fillColor: "#d84315", fillOpacity: 1 }).addTo(map);
    }
    var point = parse(el.getAttribute("data-point"));
    if (point && point.length === 2) {
      L.circleMarker([point[1], point[0]], { radius: 7, color: "#fff", weight: 2, fillColor: "#c62828", fillOpacity: 1 }).addTo(map);
    }
    fit(map, layers);
    onShown(el, function () { map.invalidateSize(); fit(map, layers); });
  }

  function edit(el) {
    var target = document.getElementById(el.getAttribute("data-target") || "detour_geometry");
    var box = el.parentNode;
    var undoButton = box.querySelector("[data-detour-action=undo]");
    var clearButton = box.querySelector("[data-detour-action=clear]");
    var counter = box.querySelector(".detour-count");
    var map = baseMap(el, true);
    var segment = null;
    var points = toLatLngs(parse(target ? target.value : ""));
    var line = L.polyline([], DETOUR_STYLE).addTo(map);
    var vertices = L.layerGroup().addTo(map);

    function render() {
      line.setLatLngs(points);
      vertices.clearLayers();
      points.forEach(function (p, i) {
        L.circleMarker(p, { radius: i === points.length - 1 ? 7 : 5, color: "#fff", weight: 2, fillColor: "#d84315",
          fillOpacity: 1, interactive: false }).addTo(vertices);
      });
      if (target) {
        target.value = points.length > 1 ? JSON.stringify({ type: "LineString", coordinates: points.map(function (p) {
          return [round6(p.lng), round6(p.lat)];
        }) }) : "";
      }
      if (undoButton) { undoButton.disabled = !points.length; }
      if (clearButton) { clearButton.disabled = !points.length; }
      if (counter) {
        counter.textContent = points.length === 0 ? "尚未画线" : points.length === 1 ? "已画 1 个点，再点一个点成线" :
          "绕行线已画 " + points.length + " 个点";
      }
    }

    function showSegment(feature) {
      if (segment) { map.removeLayer(segment); segment = null; }
      if (feature && feature.geometry) { segment = segmentLayer(feature).addTo(map); }
      fit(map, [segment, points.length > 1 ? line : null]);
    }

    map.on("click", function (e) {
      points.push(L.latLng(round6(e.latlng.lat), round6(e.latlng.lng)));
      render();
    });
    if (undoButton) { undoButton.addEventListener("click", function () { points.pop(); render(); }); }
    if (clearButton) { clearButton.addEventListener("click", function () { points = []; render(); }); }

    showSegment(parse(el.getAttribute("data-segment")));
    var select = document.getElementById(el.getAttribute("data-segment-select") || "");
    var url = el.getAttribute("data-segment-url") || "";
    if (select && url) {
      var load = function () {
        var id = select.value;
        if (!/^[0-9]+$/.test(id)) { showSegment(null); return; }
        fetch(url.replace(/\/0\.json$/, "/" + id + ".json"), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (feature) { if (select.value === id) { showSegment(feature); } })
          .catch(function () { showSegment(null); });
      };
      select.addEventListener("change", load);
      if (select.value && !el.getAttribute("data-segment")) { load(); }
    }
    render();
    onShown(el, function () { map.invalidateSize(); fit(map, [segment, points.length > 1 ? line : null]); });
  }

  function init() {
    if (typeof L === "undefined") { return; }
    var maps = document.querySelectorAll("[data-detour-map]");
    for (var i = 0; i < maps.length; i++) {
      if (maps[i].getAttribute("data-detour-map") === "edit") { edit(maps[i]); } else { view(maps[i]); }
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
