/* The front-page map, part 1 of 6 (loaded first; map.js describes the whole): constants and
 * small helpers, the page's data-* settings, the shared state, the Leaflet map with its base
 * layers and panes, the status line and JSON fetching. The other parts find all of it in
 * window.roadchiefMapParts. Every string from the data goes in with textContent, never as HTML.
 */
(function () {
  "use strict";
  var CLASSES = ["市道", "镇道", "村道", "专用公路"];
  var CLASS_COLOURS = { "市道": "#6a1b9a", "镇道": "#1565c0", "村道": "#ef6c00", "专用公路": "#00838f" };
  var CLASS_WEIGHTS = { "市道": 5, "镇道": 4, "村道": 3, "专用公路": 4 };
  var GRADES = ["优", "良", "一般"];
  var GRADE_COLOURS = { "优": "#2e7d32", "良": "#f9a825", "一般": "#c62828" };
  var NO_SCORE_COLOUR = "#9e9e9e";
  var GAP_COLOUR = "#d500f9";
  var TOWN_OUTLINE = "#5d6b7a";
  var TOWN_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                      "#e377c2", "#005f73", "#bcbd22", "#17becf", "#3949ab", "#6d4c41"];
  // The city's towns in their official order, so each keeps its colour whatever is loaded.
  var TOWN_ORDER = ["640381100", "640381101", "640381102", "640381103", "640381104",
                    "640381105", "640381106", "640381107", "640381401", "640381001"];
  var MODES = { "class": "行政等级", "grade": "最新考评等级", "town": "乡镇" };
  var DEFAULT_CENTER = [38.02, 106.07];  // 青铜峡市
  var STORAGE_KEY = "roadchief.map.colour";

  var touch = !!(L.Browser.touch || L.Browser.mobile);

  // ---------- small helpers ----------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function stake(metres) {
    if (metres === null || metres === undefined || isNaN(metres)) { return ""; }
    var m = Math.round(Number(metres));
    var rest = String(m % 1000);
    while (rest.length < 3) { rest = "0" + rest; }
    return "K" + Math.floor(m / 1000) + "+" + rest;
  }

  function townColour(code) {
    var i = TOWN_ORDER.indexOf(String(code || ""));
    if (i === -1) {
      var h = 0;
      var s = String(code || "");
      for (var k = 0; k < s.length; k++) { h = (h * 31 + s.charCodeAt(k)) % 1000003; }
      i = h;
    }
    return TOWN_PALETTE[i % TOWN_PALETTE.length];
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      var self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function eachCoordinate(geometry, fn) {
    if (!geometry) { return; }
    var c = geometry.coordinates;
    if (geometry.type === "LineString") { c.forEach(fn); }
    else if (geometry.type === "MultiLineString") { c.forEach(function (part) { part.forEach(fn); }); }
    else if (geometry.type === "Point") { fn(c); }
  }

  function boundsOf(geometry) {
    var b = null;
    eachCoordinate(geometry, function (p) {
      var ll = L.latLng(p[1], p[0]);
      if (b) { b.extend(ll); } else { b = L.latLngBounds(ll, ll); }
    });
    return b;
  }

  function normal(text) {
    return String(text || "").toLowerCase().replace(/\s+/g, "");
  }

  // ---------- state ----------
  var container = document.getElementById("map");
  if (!container || typeof L === "undefined") { return; }
  var api = container.getAttribute("data-api");
  var segmentUrlZero = container.getAttribute("data-segment-url");   // …/segments/0
  var loginUrl = container.getAttribute("data-login-url");
  var tileUrl = container.getAttribute("data-tile-url");
  var tileLabelUrl = container.getAttribute("data-tile-label-url");
  var tileSubdomains = container.getAttribute("data-tile-subdomains") || "abc";
  var markersApi = container.getAttribute("data-markers-api");
  var townsApi = container.getAttribute("data-towns-api");
  var gapsApi = container.getAttribute("data-gaps-api");
  var myChiefId = container.getAttribute("data-my-chief-id");

  // shared with the other parts (map-layers, map-popups, map-markers, map-search, map.js)
  var state = {
    index: [],            // features of the whole network, low detail (search, panel, fit)
    indexById: {},
    loaded: {},           // id -> {feature, line}
    selectedId: null,
    highlighted: {},      // ids lit up by a search
    pendingOpen: null     // id whose popup opens once its feature is drawn
  };

  function segmentUrl(id) { return segmentUrlZero.replace(/0$/, String(id)); }
  function detailApi(id) { return api.replace(/\/$/, "") + "/" + encodeURIComponent(id); }
  function band(zoom) { return zoom <= 10 ? "low" : (zoom <= 13 ? "mid" : "full"); }

  // ---------- map ----------
  var map = L.map(container, {
    zoomControl: false,
    preferCanvas: false,          // SVG: crisp lines and one element per segment
    zoomSnap: 0.5,
    minZoom: 5,
    maxZoom: 19,                  // also without tiles: marker clustering needs a finite range
    tap: false,
    worldCopyJump: false,
    attributionControl: !!tileUrl   // without tiles there is nothing to credit
  });
  L.control.zoom({ position: "bottomright", zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
  L.control.scale({ position: "bottomleft", imperial: false, maxWidth: 100 }).addTo(map);

  var baseLayers = {};
  if (tileUrl) {
    // an OSM-style URL, or 天地图 (vec_w with its cva_w annotation layer on top)
    var tileOptions = { maxZoom: 18, subdomains: tileSubdomains, attribution: container.getAttribute("data-tile-attribution") || "" };
    var tiles = L.tileLayer(tileUrl, tileOptions);
    var base = tileLabelUrl ? L.layerGroup([tiles, L.tileLayer(tileLabelUrl, { maxZoom: 18, subdomains: tileSubdomains })]) : tiles;
    base.addTo(map);
    baseLayers["底图"] = base;
    baseLayers["无底图"] = L.layerGroup();
    map.on("baselayerchange", function (event) { container.classList.toggle("no-tiles", event.layer !== base); });
  } else {
    container.classList.add("no-tiles");
  }

  // Town outlines lie under the roads (tiles are at 200); their names float above the lines.
  map.createPane("towns");
  map.getPane("towns").style.zIndex = 350;
  map.getPane("towns").style.pointerEvents = "none";
  map.createPane("townLabels");
  map.getPane("townLabels").style.zIndex = 450;   // names above the lines (haloed), still under markers and popups
  map.getPane("townLabels").style.pointerEvents = "none";
  // Segments lacking a required chief: a wide dashed outline just under the lines.
  map.createPane("gaps");
  map.getPane("gaps").style.zIndex = 395;
  map.getPane("gaps").style.pointerEvents = "none";

  // ---------- loading indicator & messages ----------
  var status = el("div", "map-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  status.hidden = true;
  container.appendChild(status);
  L.DomEvent.disableClickPropagation(status);
  var statusTimer = null;

  function showStatus(text, kind, link) {
    clearTimeout(statusTimer);
    status.textContent = "";
    status.className = "map-status" + (kind ? " map-status-" + kind : "");
    if (kind === "loading") { status.appendChild(el("span", "spinner")); }
    status.appendChild(el("span", null, text));
    if (link) {
      var a = el("a", null, link.text);
      a.href = link.href;
      status.appendChild(a);
    }
    status.hidden = false;
  }

  function hideStatus(delay) {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { status.hidden = true; }, delay || 0);
  }

  function handleHttpError(response) {
    if (response.status === 401) {
      showStatus("登录已过期，", "error", { text: "请重新登录", href: loginUrl });
    } else {
      showStatus("路段数据加载失败（" + response.status + "），请稍后重试", "error");
    }
    throw new Error("HTTP " + response.status);
  }

  function getJSON(url, signal) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: signal })
      .then(function (response) {
        if (!response.ok) { handleHttpError(response); }
        return response.json();
      });
  }

  window.roadchiefMapParts = {
    CLASSES: CLASSES, CLASS_COLOURS: CLASS_COLOURS, CLASS_WEIGHTS: CLASS_WEIGHTS, GRADES: GRADES,
    GRADE_COLOURS: GRADE_COLOURS, NO_SCORE_COLOUR: NO_SCORE_COLOUR, GAP_COLOUR: GAP_COLOUR, TOWN_OUTLINE: TOWN_OUTLINE,
    MODES: MODES, DEFAULT_CENTER: DEFAULT_CENTER, STORAGE_KEY: STORAGE_KEY, touch: touch,
    el: el, stake: stake, townColour: townColour, debounce: debounce, eachCoordinate: eachCoordinate,
    boundsOf: boundsOf, normal: normal,
    container: container, api: api, tileUrl: tileUrl, markersApi: markersApi, townsApi: townsApi, gapsApi: gapsApi,
    myChiefId: myChiefId, state: state,
    segmentUrl: segmentUrl, detailApi: detailApi, band: band,
    map: map, baseLayers: baseLayers,
    status: status, showStatus: showStatus, hideStatus: hideStatus, getJSON: getJSON
  };
}());
