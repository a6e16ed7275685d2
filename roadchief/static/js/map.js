/* The front-page map of the rural road network.
 *
 * Data: GET {api}?bbox=…&zoom=… (GeoJSON FeatureCollection, same-origin cookie
 * session), reloaded on moveend (debounced; the previous request is aborted) and
 * only when the view leaves the area already loaded or the zoom band changes.
 * A one-off GET {api}?zoom=8 (whole network, low detail) feeds the search box,
 * the initial view and, for a signed-in 路长, the 我的路段 panel — except at province scale
 * (map-tiles.js), where vector tiles draw below zoom 13 and nothing loads the whole network.
 *
 * Beside the roads (GET {markers-api}, {towns-api}, {gaps-api}):
 *  - inspection and open-rectification markers, clustered (Leaflet.markercluster),
 *    overdue rectifications red with their own icon; reloaded by bbox on moveend like
 *    the segments (debounced, abortable, only when the view leaves the loaded area);
 *  - town outlines with labels, under the roads, drawn with or without tiles;
 *  - segments lacking a required chief (coverage gaps): a dashed magenta outline.
 * Each is an entry of the layer switcher.
 *
 * Security: every string that comes from the data (road names, villages…) is put
 * into the page with textContent / DOM nodes, never as HTML — a road named
 * <img src=x onerror=…> shows literally. No inline script or style (CSP).
 *
 * The map comes in parts, loaded in this order by templates/map/index.html (same origin,
 * no inline script): map-base.js (helpers, settings, shared state, the map, status line,
 * fetching), map-layers.js (road, town, gap and marker layers, colours, legend),
 * map-popups.js (segment popups), map-markers.js (inspection and rectification markers),
 * map-search.js (search, locate-me, 我的路段 panel), then this file: loading the view,
 * the start and the window.roadchiefMap handle. They share window.roadchiefMapParts.
 */
(function () {
  "use strict";
  var rc = window.roadchiefMapParts;
  if (!rc) { return; }
  var el = rc.el, debounce = rc.debounce, boundsOf = rc.boundsOf, band = rc.band;
  var CLASSES = rc.CLASSES, DEFAULT_CENTER = rc.DEFAULT_CENTER;
  var map = rc.map, container = rc.container, state = rc.state, api = rc.api, myChiefId = rc.myChiefId;
  var status = rc.status, showStatus = rc.showStatus, hideStatus = rc.hideStatus, getJSON = rc.getJSON;
  var visibleLayers = rc.visibleLayers, hitLayers = rc.hitLayers, inspectionLayer = rc.inspectionLayer;
  var rectLayer = rc.rectLayer, layersControl = rc.layersControl, legend = rc.legend;
  var restyle = rc.restyle, updateHalo = rc.updateHalo, updateGaps = rc.updateGaps;
  var loadTowns = rc.loadTowns, loadGaps = rc.loadGaps, loadMarkers = rc.loadMarkers, loadMarkersSoon = rc.loadMarkersSoon;
  var openPopup = rc.openPopup, goToSegment = rc.goToSegment, search = rc.search, searchControl = rc.searchControl;
  var setupPanel = rc.setupPanel, fillPanel = rc.fillPanel;
  var loadedBounds = null;
  var loadedBand = null;
  var controller = null;     // AbortController of the request in flight

  // ---------- loading the view ----------
  var loadCount = 0;

  // The first request (the search index) already holds every road in the user's scope: an
  // office's at the overview detail, a chief's few roads at full detail. Draw from it while it is
  // detailed enough, so the first view costs one data request (#15).
  var indexZoom = myChiefId ? 14 : 8;
  var indexReady = false;
  function indexServes(zoom) { return indexReady && (myChiefId || band(zoom) === band(indexZoom)); }

  function loadView() {
    var zoom = Math.round(map.getZoom());
    if (rc.tiles && rc.tiles.sync()) {   // province scale, below zoom 13: the tiles draw the roads
      if (controller) { controller.abort(); controller = null; }
      if (loadedBand !== "tiles") {
        render([]);
        loadedBand = "tiles";
        loadedBounds = null;
        loadCount += 1;
        container.setAttribute("data-loads", String(loadCount));
      }
      if (!rc.tiles.loading()) { container.setAttribute("aria-busy", "false"); hideStatus(); }
      return;
    }
    if (indexServes(zoom)) {
      if (controller) { controller.abort(); controller = null; }
      if (loadedBand !== "index") {
        render(state.index);
        loadedBand = "index";
        loadedBounds = null;
        loadCount += 1;
        container.setAttribute("data-loads", String(loadCount));
        container.setAttribute("aria-busy", "false");
        hideStatus();
      }
      return;
    }
    var view = map.getBounds();
    if (loadedBounds && loadedBand === band(zoom) && loadedBounds.contains(view)) { return; }
    var wanted = view.pad(0.3);
    if (controller) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    var mine = controller;
    var bbox = [wanted.getWest(), wanted.getSouth(), wanted.getEast(), wanted.getNorth()]
      .map(function (v) { return v.toFixed(5); }).join(",");
    container.setAttribute("aria-busy", "true");
    showStatus("正在加载路段…", "loading");
    getJSON(api + "?bbox=" + bbox + "&zoom=" + zoom, mine ? mine.signal : undefined)
      .then(function (data) {
        if (mine !== controller) { return; }
        render(data.features || []);
        loadedBounds = wanted;
        loadedBand = band(zoom);
        loadCount += 1;
        container.setAttribute("data-loads", String(loadCount));
        container.setAttribute("aria-busy", "false");
        hideStatus();
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        container.setAttribute("aria-busy", "false");
        if (status.className.indexOf("error") === -1) { showStatus("网络异常，路段数据未能加载", "error"); }
      });
  }

  var loadViewSoon = debounce(loadView, 250);

  function render(features) {
    state.loaded = {};
    var byClass = {};
    CLASSES.forEach(function (cls) { byClass[cls] = []; });
    features.forEach(function (f) {
      var cls = f.properties["class"];
      (byClass[cls] || (byClass[cls] = [])).push(f);
    });
    CLASSES.forEach(function (cls) {
      visibleLayers[cls].clearLayers();
      hitLayers[cls].clearLayers();
      visibleLayers[cls].addData({ type: "FeatureCollection", features: byClass[cls] });
      hitLayers[cls].addData({ type: "FeatureCollection", features: byClass[cls] });
    });
    container.setAttribute("data-features", String(features.length));
    updateHalo();
    updateGaps();
    if (state.selectedId !== null && state.loaded[state.selectedId]) { state.loaded[state.selectedId].line.bringToFront(); }
    if (state.pendingOpen !== null && state.loaded[state.pendingOpen]) {
      var id = state.pendingOpen;
      state.pendingOpen = null;
      openPopup(id);
    }
  }

  // ---------- start ----------
  setupPanel();
  map.on("moveend", loadViewSoon);
  map.on("moveend", loadMarkersSoon);
  loadTowns();
  loadGaps();
  map.on("click", function () {
    if (Object.keys(state.highlighted).length) { state.highlighted = {}; restyle(); }
  });

  showStatus("正在加载路网…", "loading");
  if (rc.tiles) {
    // no whole-network request: fit to the scope's box, draw tiles; the search asks the server
    map.on("zoomend", function () { rc.tiles.sync(); });
    container.setAttribute("data-index", "0");
    legend.update();
    fillPanel();
    if (rc.tiles.extent) { map.fitBounds(rc.tiles.extent, { padding: [20, 20] }); } else { map.setView(DEFAULT_CENTER, 9); }
    loadView();
  } else {
  getJSON(api + "?zoom=" + indexZoom)
    .then(function (data) {
      state.index = data.features || [];
      indexReady = true;
      var all = null;
      state.index.forEach(function (f) {
        f.bounds = boundsOf(f.geometry);
        state.indexById[f.properties.id] = f;
        if (f.bounds) { all = all ? all.extend(f.bounds) : L.latLngBounds(f.bounds.getSouthWest(), f.bounds.getNorthEast()); }
      });
      container.setAttribute("data-index", String(state.index.length));
      legend.update();
      fillPanel();
      if (all) {
        map.fitBounds(all, { padding: [20, 20] });
      } else {
        map.setView(DEFAULT_CENTER, 11);
        showStatus(myChiefId ? "您目前没有负责的路段" : "暂无路段数据", "info");
        hideStatus(4000);
      }
      loadView();
    })
    .catch(function () {
      try { map.getCenter(); } catch (e) { map.setView(DEFAULT_CENTER, 11); }
      if (status.className.indexOf("error") === -1) { showStatus("网络异常，路网数据未能加载", "error"); }
    });
  }

  // A handle for the browser tests and for debugging from the console.
  window.roadchiefMap = {
    map: map,
    openSegment: goToSegment,
    search: function (text) { var hits = search(text); if (hits.length) { searchControl.choose(hits[0]); } return hits.length; },
    loadedIds: function () { return Object.keys(state.loaded).map(Number); },
    reloadMarkers: function () { loadMarkers(true); },
    reloadGaps: loadGaps,
    markerLayers: { inspections: inspectionLayer, rectifications: rectLayer },
    layersControl: layersControl,
    el: el,
    gapIds: rc.gapIds
  };
}());
