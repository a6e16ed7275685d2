/* The front-page map, province scale (#15): when the user's scope is larger than one request
 * should carry (the page says so with data-road-tiles), the roads below zoom 13 are drawn from
 * vector tiles (GET /api/v1/tiles/roads/{z}/{x}/{y}.mvt, Leaflet.VectorGrid on canvas); from
 * zoom 13 on, map.js loads the viewport's GeoJSON as everywhere else, with popups and halos.
 * The first view is fitted to data-extent, so nothing waits for the whole network. The search
 * asks the server (GET {api}?q=…) and keeps what it found in the shared index.
 * Runs after map-search.js and before map.js (web/assets.py, the map-tiled bundle).
 */
(function () {
  "use strict";
  var rc = window.roadchiefMapParts;
  if (!rc || !L.vectorGrid) { return; }
  var container = rc.container, map = rc.map, state = rc.state;
  var template = container.getAttribute("data-road-tiles");
  if (!template) { return; }
  var DETAIL_ZOOM = 13;   // from here on: GeoJSON of the viewport (map.js)
  var OVERVIEW_MAX_ZOOM = 9;   // up to here a tile's features are merged (no segment ids)

  // Leaflet 1.8 removed L.DomEvent.fakeStop, which VectorGrid 1.3's canvas click handler still
  // calls (Leaflet.VectorGrid#274): the old meaning, "the map should not see this click".
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function (event) { event._stopped = true; }; }

  // Whole zoom levels only: VectorGrid asks for fractional ones (z = 9.5) after a fitBounds at
  // the county map's half-step snapping.
  map.options.zoomSnap = 1;
  map.options.zoomDelta = 1;

  // The classes switched off in the layer control. Kept from the control's events, not read off
  // the map: the class groups join the map only once it has a view, after this runs, and each of
  // them joining used to look like a switch and redraw every tile (five decodes of the first view).
  var hidden = {};
  function shown(cls) { return !hidden[cls]; }

  var layer = L.vectorGrid.protobuf(template, {
    rendererFactory: L.canvas.tile,
    interactive: true,
    maxNativeZoom: DETAIL_ZOOM - 1,
    maxZoom: DETAIL_ZOOM - 1,
    minZoom: 0,
    keepBuffer: 1,
    fetchOptions: { credentials: "same-origin" },
    getFeatureId: function (feature) { return feature.properties.id || feature.id; },
    vectorTileLayerStyles: {
      roads: function (properties) {
        if (!shown(properties["class"])) { return []; }   // the class is switched off in the layer control
        var style = rc.styleFor({ properties: properties });
        style.weight = Math.max(1, style.weight - 1);
        return style;
      }
    }
  });

  var tilesLoading = 0;
  layer.on("loading", function () { tilesLoading = 1; container.setAttribute("data-tiles", "loading"); });
  layer.on("load", function () {
    tilesLoading = 0;
    container.setAttribute("data-tiles", "loaded");
    container.setAttribute("aria-busy", "false");
    rc.hideStatus();
  });
  layer.on("tileerror", function () { rc.showStatus("网络异常，部分路网瓦片未能加载", "error"); });

  // A tap on the overview zooms in towards it; on a segment's own feature it also opens the
  // segment once the detailed view has drawn it.
  layer.on("click", function (event) {
    var p = (event.layer && event.layer.properties) || {};
    var zoom = map.getZoom();
    if (p.id && zoom > OVERVIEW_MAX_ZOOM) {
      state.pendingOpen = p.id;
      map.setView(event.latlng, Math.max(DETAIL_ZOOM + 1, zoom));
    } else {
      map.setView(event.latlng, Math.min(DETAIL_ZOOM + 1, zoom + 3));
    }
  });

  function tiled(zoom) { return zoom < DETAIL_ZOOM; }

  function sync() {
    var on = tiled(map.getZoom());
    if (on && !map.hasLayer(layer)) { layer.addTo(map); }
    if (!on && map.hasLayer(layer)) { map.removeLayer(layer); }
    container.setAttribute("data-tiled", on ? "true" : "false");
    return on;
  }

  // Switching a class on or off in the layer control redraws the tiles (their style reads it);
  // the control reports every overlay added, each class and the markers' at start too: redraw on
  // a change only.
  function classOf(overlay) {
    for (var i = 0; i < rc.CLASSES.length; i++) {
      var cls = rc.CLASSES[i];
      if (overlay === rc.visibleLayers[cls] || (overlay.hasLayer && overlay.hasLayer(rc.visibleLayers[cls]))) { return cls; }
    }
    return null;
  }
  map.on("overlayadd overlayremove", function (event) {
    var cls = event.layer ? classOf(event.layer) : null;
    var off = event.type === "overlayremove";
    if (!cls || Boolean(hidden[cls]) === off) { return; }
    if (off) { hidden[cls] = true; } else { delete hidden[cls]; }
    if (map.hasLayer(layer)) { layer.redraw(); }
  });

  // The colour mode (行政等级 / 乡镇 / 考评) is read by the tiles' style too: redraw them with it.
  map.on("colourmode", function () { if (map.hasLayer(layer)) { layer.redraw(); } });

  // ---------- the search, answered by the server ----------
  var asked = {};
  function ask(text, done) {
    var q = String(text || "").trim();
    if (q.length < 1 || asked[q]) { done(); return; }
    asked[q] = true;
    rc.getJSON(rc.api + "?zoom=8&q=" + encodeURIComponent(q))
      .then(function (data) {
        (data.features || []).forEach(function (f) {
          if (state.indexById[f.properties.id]) { return; }
          f.bounds = rc.boundsOf(f.geometry);
          state.indexById[f.properties.id] = f;
          state.index.push(f);
        });
        done();
      })
      .catch(function () { delete asked[q]; done(); });
  }

  var extent = (container.getAttribute("data-extent") || "").split(",").map(Number);
  rc.tiles = {
    layer: layer,
    sync: sync,
    tiled: tiled,
    ask: ask,
    loading: function () { return tilesLoading; },
    extent: extent.length === 4 && extent.every(isFinite)
      ? L.latLngBounds([extent[1], extent[0]], [extent[3], extent[2]]) : null
  };
}());
