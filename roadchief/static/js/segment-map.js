/* Small static maps on registry pages.
   <div class="segment-map" data-geometry="GeoJSON geometry">            one segment, start/end marked
   <div class="segment-map" data-geometry-from="CSS selector">          several: each matching element
        carries data-geometry (and optionally data-href / data-label); clicking a line follows data-href.
   Tiles only when data-tile-url is set; otherwise a plain background (works offline). */
(function () {
  "use strict";

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function parts(geometry) {
    var out = [];
    if (!geometry) { return out; }
    if (geometry.type === "LineString") { out.push(geometry.coordinates); }
    else if (geometry.type === "MultiLineString") { geometry.coordinates.forEach(function (c) { out.push(c); }); }
    return out;
  }

  function endpoint(map, lonlat, colour, label) {
    L.circleMarker([lonlat[1], lonlat[0]], { radius: 6, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 1 })
      .bindTooltip(label).addTo(map);
  }

  function draw(el) {
    var features = [];
    var source = el.getAttribute("data-geometry-from");
    if (source) {
      var items = document.querySelectorAll(source);
      for (var i = 0; i < items.length; i++) {
        var g = parse(items[i].getAttribute("data-geometry"));
        if (g) {
          features.push({ type: "Feature", geometry: g,
            properties: { href: items[i].getAttribute("data-href"), label: items[i].getAttribute("data-label") } });
        }
      }
    } else {
      var single = parse(el.getAttribute("data-geometry"));
      if (single) { features.push({ type: "Feature", geometry: single, properties: {} }); }
    }
    if (!features.length) {
      el.classList.add("map-empty");
      el.textContent = "无可显示的路段几何";
      return;
    }
    var tileUrl = el.getAttribute("data-tile-url");
    var map = L.map(el, {
      scrollWheelZoom: false,           // the page scrolls, not the map
      dragging: !L.Browser.mobile,      // one finger scrolls the page on phones
      zoomSnap: 0.5,
      attributionControl: !!tileUrl
    });
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 18, attribution: el.getAttribute("data-tile-attribution") || "" }).addTo(map);
    }
    features.forEach(function (f, i) { f.properties.colour = i % 2 ? "#5e9fd6" : "#1f5f99"; });
    var collection = { type: "FeatureCollection", features: features };
    // The view must be set before any layer is added.
    var bounds = L.geoJSON(collection).getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 }); }
    else { map.setView([38.0, 106.05], 10); }
    L.geoJSON(collection, { style: { color: "#ffffff", weight: 9, opacity: 0.9 }, interactive: false }).addTo(map);
    // neighbouring segments alternate in colour (set above), so their joins show
    L.geoJSON(collection, {
      style: function (feature) { return { color: feature.properties.colour, weight: 5, opacity: 1 }; },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        if (p.label) {
          // Leaflet would set a string tooltip as HTML: give it a text node instead (labels hold road names).
          var tip = document.createElement("span");
          tip.textContent = p.label;
          layer.bindTooltip(tip, { sticky: true });
        }
        if (p.href) {
          layer.on("click", function () { window.location.href = p.href; });
          layer.on("mouseover", function () { layer.setStyle({ color: "#f9a825" }); });
          layer.on("mouseout", function () { layer.setStyle({ color: p.colour }); });
        }
      }
    }).addTo(map);
    if (features.length === 1) {
      var ps = parts(features[0].geometry);
      if (ps.length) {
        endpoint(map, ps[0][0], "#2e7d32", "起点");
        var last = ps[ps.length - 1];
        endpoint(map, last[last.length - 1], "#c62828", "止点");
      }
    }
  }

  function init() {
    if (typeof L === "undefined") { return; }
    var maps = document.querySelectorAll(".segment-map");
    for (var i = 0; i < maps.length; i++) { draw(maps[i]); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
