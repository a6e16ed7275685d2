/* The front-page map of the rural road network.
 *
 * Data: GET {api}?bbox=…&zoom=… (GeoJSON FeatureCollection, same-origin cookie
 * session), reloaded on moveend (debounced; the previous request is aborted) and
 * only when the view leaves the area already loaded or the zoom band changes.
 * A one-off GET {api}?zoom=8 (whole network, low detail) feeds the search box,
 * the initial view and, for a signed-in 路长, the 我的路段 panel.
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

  var mode = "class";
  try {
    var saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved && MODES[saved]) { mode = saved; }
  } catch (e) { /* private mode */ }

  var index = [];            // features of the whole network, low detail (search, panel, fit)
  var indexById = {};
  var loaded = {};           // id -> {feature, line}
  var loadedBounds = null;
  var loadedBand = null;
  var controller = null;     // AbortController of the request in flight
  var selectedId = null;
  var highlighted = {};      // ids lit up by a search
  var pendingOpen = null;    // id whose popup opens once its feature is drawn
  var detailCache = {};

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

  // Selected and searched-for segments get a yellow halo, in a pane of its own under the lines.
  map.createPane("halo");
  map.getPane("halo").style.zIndex = 390;    // overlayPane is 400
  var haloLayer = L.geoJSON(null, {
    pane: "halo",
    interactive: false,
    style: function (feature) {
      var selected = feature.properties.id === selectedId;
      return { color: selected ? "#ffd600" : "#fff176", weight: (CLASS_WEIGHTS[feature.properties["class"]] || 3) + (selected ? 12 : 9),
               opacity: 0.95, lineCap: "round", lineJoin: "round" };
    }
  }).addTo(map);

  function updateHalo() {
    haloLayer.clearLayers();
    var ids = Object.keys(highlighted).map(Number);
    if (selectedId !== null && ids.indexOf(selectedId) === -1) { ids.push(selectedId); }
    ids.forEach(function (id) { if (loaded[id]) { haloLayer.addData(loaded[id].feature); } });
  }

  // One group per class (overlay toggles); each holds the visible lines and, above
  // them, wide transparent lines that catch clicks and taps.
  var groups = {};
  var visibleLayers = {};
  var hitLayers = {};
  var overlays = {};
  // draw order: 专用公路 and 村道 below, 市道 on top
  ["专用公路", "村道", "镇道", "市道"].forEach(function (cls) {
    visibleLayers[cls] = L.geoJSON(null, {
      interactive: false,
      style: styleFor,
      onEachFeature: function (feature, layer) {
        loaded[feature.properties.id] = { feature: feature, line: layer };
      }
    });
    hitLayers[cls] = L.geoJSON(null, {
      style: function () { return { color: "#000", opacity: 0, weight: touch ? 22 : 14, lineCap: "round" }; },
      onEachFeature: function (feature, layer) {
        layer.on("click", function (event) { openPopup(feature.properties.id, event.latlng); });
        layer.on("mouseover", function () { hover(feature.properties.id, true); });
        layer.on("mouseout", function () { hover(feature.properties.id, false); });
      }
    });
    groups[cls] = L.layerGroup([visibleLayers[cls], hitLayers[cls]]).addTo(map);
  });
  CLASSES.forEach(function (cls) {
    overlays['<span class="overlay-swatch cls-' + CLASSES.indexOf(cls) + '"></span>' + cls] = groups[cls];  // static labels only
  });
  // static labels only (the layer switcher writes them as HTML)
  var townLayer = L.layerGroup().addTo(map);
  var gapLayer = L.geoJSON(null, {
    pane: "gaps",
    interactive: false,
    style: function (feature) {
      return { color: GAP_COLOUR, weight: (CLASS_WEIGHTS[feature.properties["class"]] || 3) + 8, opacity: 0.9,
               dashArray: "10 7", lineCap: "butt", lineJoin: "round", className: "gap-line" };
    }
  }).addTo(map);
  var inspectionLayer = L.markerClusterGroup ? L.markerClusterGroup(clusterOptions("insp")) : L.layerGroup();
  var rectLayer = L.markerClusterGroup ? L.markerClusterGroup(clusterOptions("rect")) : L.layerGroup();
  inspectionLayer.addTo(map);
  rectLayer.addTo(map);
  overlays['<span class="overlay-icon mk-insp"></span>检查记录'] = inspectionLayer;
  overlays['<span class="overlay-icon mk-rect"></span>整改（未复核）'] = rectLayer;
  overlays['<span class="overlay-swatch overlay-gap"></span>缺少路长'] = gapLayer;
  overlays['<span class="overlay-swatch overlay-town"></span>乡镇边界'] = townLayer;
  var layersControl = L.control.layers(tileUrl ? baseLayers : {}, overlays, { position: "topright", collapsed: true }).addTo(map);

  function colourFor(p) {
    if (mode === "grade") { return GRADE_COLOURS[p.grade] || NO_SCORE_COLOUR; }
    if (mode === "town") { return townColour(p.town_code); }
    return CLASS_COLOURS[p["class"]] || "#555";
  }

  function styleFor(feature) {
    var p = feature.properties;
    var weight = CLASS_WEIGHTS[p["class"]] || 3;
    if (myChiefId) { weight += 1; }
    var style = { color: colourFor(p), weight: weight, opacity: 0.92, lineCap: "round", lineJoin: "round", dashArray: null };
    if (p.listed === false) { style.dashArray = "6 6"; style.opacity = 0.7; }
    if (highlighted[p.id]) { style.weight = weight + 1; style.opacity = 1; }
    if (selectedId === p.id) { style.weight = weight + 2; style.opacity = 1; }
    return style;
  }

  function restyle() {
    CLASSES.forEach(function (cls) { visibleLayers[cls].setStyle(styleFor); });
    updateHalo();
    if (selectedId !== null && loaded[selectedId]) { loaded[selectedId].line.bringToFront(); }
  }

  function hover(id, on) {
    var item = loaded[id];
    if (!item || id === selectedId) { return; }
    var style = styleFor(item.feature);
    if (on) { style.weight += 2; style.opacity = 1; }
    item.line.setStyle(style);
  }

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

  // ---------- loading the view ----------
  var loadCount = 0;

  function loadView() {
    var zoom = Math.round(map.getZoom());
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
    loaded = {};
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
    if (selectedId !== null && loaded[selectedId]) { loaded[selectedId].line.bringToFront(); }
    if (pendingOpen !== null && loaded[pendingOpen]) {
      var id = pendingOpen;
      pendingOpen = null;
      openPopup(id);
    }
  }

  // ---------- popup ----------
  var popup = L.popup({ maxWidth: 300, minWidth: 220, autoPanPaddingTopLeft: L.point(16, 72), autoPanPaddingBottomRight: L.point(16, 16),
                        className: "seg-popup-wrap" });

  function fitPopupHeight() {
    popup.options.maxHeight = Math.max(180, map.getSize().y - 110);
  }

  function fact(dl, term, value) {
    if (value === null || value === undefined || value === "") { return; }
    dl.appendChild(el("dt", null, term));
    var dd = el("dd");
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = String(value); }
    dl.appendChild(dd);
  }

  function popupContent(p) {
    var box = el("div", "seg-popup");
    var head = el("div", "seg-popup-head");
    head.appendChild(el("strong", "seg-popup-code", p.code));
    head.appendChild(el("span", "badge seg-class cls-" + CLASSES.indexOf(p["class"]), p["class"]));
    box.appendChild(head);
    box.appendChild(el("div", "seg-popup-name", p.name));
    var dl = el("dl", "seg-popup-facts");
    fact(dl, "桩号", stake(p.start_m) + " – " + stake(p.end_m));
    fact(dl, "列养里程", p.listed_km + " km" + (p.listed === false ? "（未列养）" : ""));
    fact(dl, "位置", [p.town, p.village].filter(Boolean).join(" "));
    if (p.score !== null && p.score !== undefined) {
      var score = el("span");
      score.appendChild(document.createTextNode(p.score + " 分 "));
      score.appendChild(el("span", "badge grade-" + GRADES.indexOf(p.grade), p.grade));
      if (p.period) { score.appendChild(el("span", "muted", " " + p.period)); }
      fact(dl, "最新考评", score);
    } else {
      fact(dl, "最新考评", el("span", "muted", "暂无评分"));
    }
    box.appendChild(dl);
    var chiefs = el("div", "seg-popup-chiefs");
    box.appendChild(chiefs);
    var link = el("a", "btn btn-small btn-primary seg-popup-link", "路段详情");
    link.href = segmentUrl(p.id);
    box.appendChild(link);
    fillChiefs(p.id, chiefs);
    return box;
  }

  // Chiefs come from GET /api/v1/segments/<id> where that endpoint exists; when it
  // does not (404) or fails, the popup simply shows none.
  var CITY_LEVEL = ["chief_total", "chief_deputy_total", "city", "city_deputy", "city_town_roads"];

  function chiefList(list) {
    var ul = el("ul", "seg-popup-chief-list");
    list.forEach(function (c) {
      var li = el("li");
      li.appendChild(el("span", "muted", (c.position_name || c.position || "") + " "));
      li.appendChild(el("span", "seg-chief-name", c.name || ""));
      if (c.phone) {
        var tel = el("a", "seg-chief-tel", c.phone);
        tel.href = "tel:" + String(c.phone).replace(/[^0-9+]/g, "");
        li.appendChild(document.createTextNode(" "));
        li.appendChild(tel);
      }
      ul.appendChild(li);
    });
    return ul;
  }

  // Chiefs come from GET /api/v1/segments/<id>; when that fails the popup simply shows none.
  // The town/village/station chiefs and maintainers — whom one calls from the roadside —
  // are listed; the city-level chiefs fold away.
  function fillChiefs(id, target) {
    var cached = detailCache[id];
    if (cached === false) { return; }
    var use = function (data) {
      if (!data) { return; }
      if (data.missing && data.missing.length) {
        target.appendChild(el("div", "seg-popup-missing", "缺少" + data.missing.join("、") + "（第八条）"));
      }
      var list = data.chiefs || [];
      if (!list.length) { return; }
      var local = list.filter(function (c) { return CITY_LEVEL.indexOf(c.position) === -1; });
      var city = list.filter(function (c) { return CITY_LEVEL.indexOf(c.position) !== -1; });
      target.appendChild(el("div", "seg-popup-sub", "路长"));
      if (local.length) { target.appendChild(chiefList(local)); }
      if (city.length) {
        var more = el("details", "seg-popup-more");
        more.appendChild(el("summary", null, "市级路长（" + city.length + " 人）"));
        more.appendChild(chiefList(city));
        more.addEventListener("toggle", function () { popup.update(); });
        target.appendChild(more);
      }
      if (popup.isOpen() && selectedId === id) { popup.update(); }
    };
    if (cached) { use(cached); return; }
    fetch(detailApi(id), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { detailCache[id] = false; return null; }
        return response.json();
      })
      .then(function (data) {
        if (!data) { return; }
        detailCache[id] = data;
        use(data);
      })
      .catch(function () { /* no chiefs shown */ });
  }

  function pointOn(feature) {
    var coords = [];
    eachCoordinate(feature.geometry, function (c) { coords.push(c); });
    var mid = coords[Math.floor(coords.length / 2)];
    return mid ? L.latLng(mid[1], mid[0]) : null;
  }

  function openPopup(id, latlng) {
    var item = loaded[id];
    if (!item) { return; }
    var previous = selectedId;
    selectedId = id;
    if (previous !== null && loaded[previous]) { loaded[previous].line.setStyle(styleFor(loaded[previous].feature)); }
    item.line.setStyle(styleFor(item.feature));
    item.line.bringToFront();
    updateHalo();
    fitPopupHeight();
    popup.setLatLng(latlng || pointOn(item.feature)).setContent(popupContent(item.feature.properties)).openOn(map);
  }

  map.on("popupclose", function () {
    var id = selectedId;
    selectedId = null;
    if (id !== null && loaded[id]) { loaded[id].line.setStyle(styleFor(loaded[id].feature)); }
    updateHalo();
  });

  // Zoom to a segment from the index (search, panel) and open its popup once drawn.
  function goToSegment(id) {
    var f = indexById[id];
    if (!f) { return; }
    var b = f.bounds;
    pendingOpen = id;
    // room above the line for the popup that opens on it
    if (b) { map.fitBounds(b, { paddingTopLeft: [30, Math.min(260, map.getSize().y * 0.4)], paddingBottomRight: [30, 30], maxZoom: 15 }); }
    // when the view did not need a reload, the feature is already there
    setTimeout(function () { if (pendingOpen === id && loaded[id]) { pendingOpen = null; openPopup(id); } }, 400);
  }

  // ---------- town outlines ----------
  var townCount = 0;

  function loadTowns() {
    if (!townsApi) { return; }
    getJSON(townsApi)
      .then(function (data) {
        townLayer.clearLayers();
        var features = data.features || [];
        townLayer.addLayer(L.geoJSON({ type: "FeatureCollection", features: features }, {
          pane: "towns",
          interactive: false,
          style: function () {
            return { color: TOWN_OUTLINE, weight: 1.5, opacity: 0.8, dashArray: "5 4", fill: true, fillColor: TOWN_OUTLINE,
                     fillOpacity: 0.03, className: "town-outline" };
          }
        }));
        features.forEach(function (f) {
          var p = f.properties;
          var at = p.label;
          if (!at) { return; }
          var label = el("span", "town-label-text", p.name);
          townLayer.addLayer(L.marker([at[1], at[0]], {
            pane: "townLabels", interactive: false, keyboard: false,
            icon: L.divIcon({ className: "town-label", html: label, iconSize: null })
          }));
        });
        townCount = features.length;
        container.setAttribute("data-towns", String(townCount));
      })
      .catch(function () { container.setAttribute("data-towns", "0"); });
  }

  // ---------- segments lacking a required chief (第八条) ----------
  var gapIds = {};
  var gapCount = null;

  function updateGaps() {
    gapLayer.clearLayers();
    var drawn = 0;
    Object.keys(gapIds).forEach(function (id) {
      if (loaded[id]) { gapLayer.addData(loaded[id].feature); drawn += 1; }
    });
    container.setAttribute("data-gaps-drawn", String(drawn));
  }

  function loadGaps() {
    if (!gapsApi) { return; }
    getJSON(gapsApi)
      .then(function (data) {
        gapIds = {};
        (data.segments || []).forEach(function (s) { gapIds[s.id] = s; });
        gapCount = (data.segments || []).length;
        container.setAttribute("data-gaps", String(gapCount));
        updateGaps();
        legend.update();
      })
      .catch(function () { /* the roads still show */ });
  }

  // ---------- inspection and rectification markers ----------
  function clusterOptions(kind) {
    return {
      showCoverageOnHover: false,
      spiderfyOnMaxZoom: true,
      disableClusteringAtZoom: 17,
      maxClusterRadius: 50,
      chunkedLoading: true,
      iconCreateFunction: function (cluster) {
        var overdue = kind === "rect" && cluster.getAllChildMarkers().some(function (m) { return m.options.overdue; });
        var count = cluster.getChildCount();
        var inner = el("div", "mc-inner");
        inner.appendChild(el("span", null, count));
        return L.divIcon({
          html: inner, iconSize: L.point(40, 40),
          className: "mc mc-" + kind + (overdue ? " mc-overdue" : "") + (count >= 100 ? " mc-large" : (count >= 10 ? " mc-medium" : ""))
        });
      }
    };
  }

  function markerIcon(p) {
    var kind = p.layer === "rectification" ? "rect" : "insp";
    var overdue = kind === "rect" && p.overdue;
    var glyph = el("span", "mk-glyph", overdue ? "!" : (kind === "rect" ? "整" : "查"));
    return L.divIcon({
      html: glyph, iconSize: L.point(30, 30), iconAnchor: L.point(15, 15), popupAnchor: L.point(0, -14),
      className: "mk mk-" + kind + (overdue ? " mk-overdue" : "") + (kind === "rect" && p.status === "done" ? " mk-done" : "")
    });
  }

  function markerPopup(p) {
    var box = el("div", "mk-popup");
    var dl = el("dl", "seg-popup-facts");
    if (p.layer === "rectification") {
      var head = el("div", "seg-popup-head");
      head.appendChild(el("strong", null, "整改"));
      head.appendChild(el("span", "badge " + (p.overdue ? "badge-overdue" : "badge-state"), p.overdue ? "逾期" : p.status_label));
      box.appendChild(head);
      box.appendChild(el("div", "seg-popup-name", p.item));
      fact(dl, "状态", p.status_label);
      fact(dl, "整改期限", p.deadline + (p.overdue ? "（已逾期）" : ""));
      fact(dl, "责任路长", p.chief || "—");
      fact(dl, "路段", p.segment);
      if (p.returned) { fact(dl, "退回", p.returned + " 次"); }
    } else {
      var top = el("div", "seg-popup-head");
      top.appendChild(el("strong", null, p.kind_label || "检查"));
      top.appendChild(el("span", "muted", p.date));
      box.appendChild(top);
      fact(dl, "检查单位", p.office);
      fact(dl, "检查人", p.inspector);
      fact(dl, "发现问题", p.findings ? p.findings + " 项" : "无");
      fact(dl, "路段", p.segments + " 段");
    }
    if (p.located === "segment") { fact(dl, "位置", el("span", "muted", "无定位，标在路段中点")); }
    box.appendChild(dl);
    var link = el("a", "btn btn-small btn-primary", p.layer === "rectification" ? "查看检查与整改" : "检查详情");
    link.href = String(p.url || "").charAt(0) === "/" ? p.url : "#";
    box.appendChild(link);
    return box;
  }

  var markerController = null;
  var markerBounds = null;
  var markerCounts = { inspection: 0, rectification: 0 };

  function wantMarkers() { return map.hasLayer(inspectionLayer) || map.hasLayer(rectLayer); }

  function loadMarkers(force) {
    if (!markersApi || !wantMarkers()) { return; }
    var view = map.getBounds();
    if (!force && markerBounds && markerBounds.contains(view)) { return; }
    var wanted = view.pad(0.5);
    if (markerController) { markerController.abort(); }
    markerController = window.AbortController ? new AbortController() : null;
    var mine = markerController;
    var bbox = [wanted.getWest(), wanted.getSouth(), wanted.getEast(), wanted.getNorth()]
      .map(function (v) { return v.toFixed(5); }).join(",");
    getJSON(markersApi + "?bbox=" + bbox, mine ? mine.signal : undefined)
      .then(function (data) {
        if (mine !== markerController) { return; }
        var insp = [];
        var rect = [];
        (data.features || []).forEach(function (f) {
          var c = f.geometry && f.geometry.coordinates;
          if (!c) { return; }
          var p = f.properties;
          var marker = L.marker([c[1], c[0]], { icon: markerIcon(p), overdue: !!p.overdue, riseOnHover: true,
                                               title: p.layer === "rectification" ? "整改：" + p.item : (p.kind_label + " " + p.date) });
          marker.bindPopup(function () { return markerPopup(p); }, { maxWidth: 300, minWidth: 200, className: "seg-popup-wrap" });
          (p.layer === "rectification" ? rect : insp).push(marker);
        });
        inspectionLayer.clearLayers();
        rectLayer.clearLayers();
        if (inspectionLayer.addLayers) { inspectionLayer.addLayers(insp); rectLayer.addLayers(rect); }
        else { insp.forEach(function (m) { inspectionLayer.addLayer(m); }); rect.forEach(function (m) { rectLayer.addLayer(m); }); }
        markerBounds = wanted;
        markerCounts = { inspection: insp.length, rectification: rect.length };
        container.setAttribute("data-markers", String(insp.length + rect.length));
        container.setAttribute("data-overdue", String(rect.filter(function (m) { return m.options.overdue; }).length));
        if (data.truncated) { showStatus("标注点过多，仅显示部分；请放大地图", "info"); hideStatus(4000); }
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        if (status.className.indexOf("error") === -1) { showStatus("检查与整改标注加载失败", "error"); hideStatus(4000); }
      });
  }

  var loadMarkersSoon = debounce(function () { loadMarkers(false); }, 300);
  map.on("overlayadd", function (event) {
    if (event.layer === inspectionLayer || event.layer === rectLayer) { loadMarkers(!markerBounds); }
  });

  // ---------- colour mode & legend ----------
  var Legend = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = el("div", "leaflet-control map-legend");
      var details = el("details");
      details.open = !L.Browser.mobile && window.innerWidth >= 640;
      var summary = el("summary", null, "图例");
      details.appendChild(summary);
      var label = el("label", "legend-mode-label", "着色：");
      var select = el("select", "legend-mode");
      select.setAttribute("aria-label", "路段着色方式");
      Object.keys(MODES).forEach(function (key) {
        var option = el("option", null, MODES[key]);
        option.value = key;
        if (key === mode) { option.selected = true; }
        select.appendChild(option);
      });
      label.appendChild(select);
      details.appendChild(label);
      this._list = el("ul", "legend-items");
      details.appendChild(this._list);
      box.appendChild(details);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var self = this;
      select.addEventListener("change", function () {
        mode = select.value;
        try { window.localStorage.setItem(STORAGE_KEY, mode); } catch (e) { /* ignore */ }
        restyle();
        self.update();
      });
      this.update();
      return box;
    },
    update: function () {
      var list = this._list;
      if (!list) { return; }
      list.textContent = "";
      var add = function (colour, text, extra) {
        var li = el("li");
        var sw = el("span", "legend-swatch" + (extra ? " " + extra : ""));
        sw.style.backgroundColor = colour;   // CSSOM, allowed by the CSP
        li.appendChild(sw);
        li.appendChild(el("span", null, text));
        list.appendChild(li);
      };
      if (mode === "grade") {
        add(GRADE_COLOURS["优"], "优（≥85 分）");
        add(GRADE_COLOURS["良"], "良（70–85 分）");
        add(GRADE_COLOURS["一般"], "一般（<70 分）");
        add(NO_SCORE_COLOUR, "无评分");
      } else if (mode === "town") {
        var towns = {};
        index.forEach(function (f) { towns[f.properties.town_code] = f.properties.town; });
        Object.keys(towns).sort().forEach(function (code) { add(townColour(code), towns[code]); });
        if (!Object.keys(towns).length) { list.appendChild(el("li", "muted", "暂无数据")); }
      } else {
        CLASSES.forEach(function (cls) { add(CLASS_COLOURS[cls], cls, "lw-" + CLASS_WEIGHTS[cls]); });
      }
      var dash = el("li", "legend-unlisted");
      dash.appendChild(el("span", "legend-dash"));
      dash.appendChild(el("span", null, "虚线：未列养"));
      list.appendChild(dash);
      var extra = function (swatchClass, text, itemClass) {
        var li = el("li", itemClass || null);
        li.appendChild(el("span", swatchClass));
        li.appendChild(el("span", null, text));
        list.appendChild(li);
      };
      extra("legend-gap", "缺少路长" + (gapCount ? "（" + gapCount + " 段）" : ""), "legend-gap-item");
      extra("legend-town", "乡镇边界（示意）");
      extra("legend-icon mk-insp", "检查记录");
      extra("legend-icon mk-rect", "整改（未复核）");
      extra("legend-icon mk-rect mk-overdue", "逾期整改");
    }
  });
  var legend = new Legend();
  legend.addTo(map);

  // ---------- search ----------
  var Search = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var box = el("div", "leaflet-control map-search");
      box.setAttribute("role", "search");
      var input = el("input", "map-search-input");
      input.type = "search";
      input.placeholder = "搜索路线编码、路名或村名";
      input.setAttribute("aria-label", "搜索路线编码、路名或村名");
      input.setAttribute("autocomplete", "off");
      input.setAttribute("enterkeyhint", "search");
      input.setAttribute("aria-controls", "map-search-results");
      var results = el("ul", "map-search-results");
      results.id = "map-search-results";
      results.hidden = true;
      box.appendChild(input);
      box.appendChild(results);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      this._input = input;
      this._results = results;
      var self = this;
      var run = debounce(function () { self.show(search(input.value)); }, 120);
      input.addEventListener("input", run);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          var hits = search(input.value);
          if (hits.length) { self.choose(hits[0]); } else { self.show(hits, true); }
        } else if (event.key === "Escape") {
          input.value = "";
          self.show([]);
        } else if (event.key === "ArrowDown") {
          var first = results.querySelector("button");
          if (first) { event.preventDefault(); first.focus(); }
        }
      });
      results.addEventListener("keydown", function (event) {
        var target = event.target;
        if (target.tagName !== "BUTTON") { return; }
        var li = target.parentNode;
        if (event.key === "ArrowDown" && li.nextSibling) { event.preventDefault(); li.nextSibling.firstChild.focus(); }
        if (event.key === "ArrowUp") {
          event.preventDefault();
          if (li.previousSibling) { li.previousSibling.firstChild.focus(); } else { input.focus(); }
        }
        if (event.key === "Escape") { self.show([]); input.focus(); }
      });
      return box;
    },
    show: function (hits, empty) {
      var results = this._results;
      var self = this;
      results.textContent = "";
      if (!hits.length) {
        if (empty && this._input.value.trim()) {
          results.appendChild(el("li", "map-search-none", "没有找到匹配的路线或村"));
          results.hidden = false;
        } else {
          results.hidden = true;
        }
        return;
      }
      hits.forEach(function (hit) {
        var li = el("li");
        var button = el("button", "map-search-hit");
        button.type = "button";
        button.appendChild(el("span", "hit-main", hit.title));
        button.appendChild(el("span", "hit-sub", hit.subtitle));
        button.addEventListener("click", function () { self.choose(hit); });
        li.appendChild(button);
        results.appendChild(li);
      });
      results.hidden = false;
    },
    choose: function (hit) {
      this._input.value = hit.value;
      this.show([]);
      highlighted = {};
      hit.ids.forEach(function (id) { highlighted[id] = true; });
      restyle();
      if (hit.ids.length === 1) { goToSegment(hit.ids[0]); }
      else if (hit.bounds) { map.fitBounds(hit.bounds, { padding: [40, 40], maxZoom: 15 }); }
      if (L.Browser.mobile) { this._input.blur(); }
    }
  });

  function search(text) {
    var q = normal(text);
    if (!q) { return []; }
    var roads = {};
    var villages = {};
    var towns = {};
    index.forEach(function (f) {
      var p = f.properties;
      if (normal(p.code).indexOf(q) !== -1 || normal(p.name).indexOf(q) !== -1) {
        var r = roads[p.code] || (roads[p.code] = { kind: "road", code: p.code, name: p.name, cls: p["class"], ids: [], towns: {}, bounds: null });
        r.ids.push(p.id);
        r.towns[p.town] = true;
        if (f.bounds) { r.bounds = r.bounds ? r.bounds.extend(f.bounds) : L.latLngBounds(f.bounds.getSouthWest(), f.bounds.getNorthEast()); }
      }
      if (p.village && normal(p.village).indexOf(q) !== -1) {
        var key = p.town_code + "/" + p.village;
        var v = villages[key] || (villages[key] = { kind: "village", name: p.village, town: p.town, ids: [], bounds: null });
        v.ids.push(p.id);
        if (f.bounds) { v.bounds = v.bounds ? v.bounds.extend(f.bounds) : L.latLngBounds(f.bounds.getSouthWest(), f.bounds.getNorthEast()); }
      }
      if (p.town && normal(p.town).indexOf(q) !== -1) {
        var t = towns[p.town_code] || (towns[p.town_code] = { kind: "town", name: p.town, ids: [], bounds: null });
        t.ids.push(p.id);
        if (f.bounds) { t.bounds = t.bounds ? t.bounds.extend(f.bounds) : L.latLngBounds(f.bounds.getSouthWest(), f.bounds.getNorthEast()); }
      }
    });
    var hits = [];
    Object.keys(roads).forEach(function (code) {
      var r = roads[code];
      var exact = normal(code) === q ? 0 : (normal(code).indexOf(q) === 0 ? 1 : 2);
      hits.push({ rank: exact, value: code, title: code + " " + r.name,
                  subtitle: r.cls + " · " + Object.keys(r.towns).join("、") + " · " + r.ids.length + " 段",
                  ids: r.ids, bounds: r.bounds });
    });
    Object.keys(villages).forEach(function (key) {
      var v = villages[key];
      hits.push({ rank: 3, value: v.name, title: v.name, subtitle: v.town + " · 村 · " + v.ids.length + " 段", ids: v.ids, bounds: v.bounds });
    });
    Object.keys(towns).forEach(function (code) {
      var t = towns[code];
      hits.push({ rank: 4, value: t.name, title: t.name, subtitle: "乡镇 · " + t.ids.length + " 段", ids: t.ids, bounds: t.bounds });
    });
    hits.sort(function (a, b) { return a.rank - b.rank || (a.value < b.value ? -1 : (a.value > b.value ? 1 : 0)); });
    return hits.slice(0, 10);
  }

  var searchControl = new Search();
  searchControl.addTo(map);

  // ---------- locate me (roadside use) ----------
  if (navigator.geolocation && window.isSecureContext) {
    var Locate = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var box = el("div", "leaflet-bar leaflet-control map-locate");
        var a = el("a", null, "◎");
        a.href = "#";
        a.title = "我的位置";
        a.setAttribute("role", "button");
        a.setAttribute("aria-label", "定位到我的位置");
        box.appendChild(a);
        L.DomEvent.on(a, "click", function (event) {
          L.DomEvent.preventDefault(event);
          L.DomEvent.stopPropagation(event);
          map.locate({ setView: true, maxZoom: 15, enableHighAccuracy: true });
        });
        return box;
      }
    });
    new Locate().addTo(map);
    var here = null;
    map.on("locationfound", function (event) {
      if (here) { map.removeLayer(here); }
      here = L.layerGroup([
        L.circle(event.latlng, { radius: event.accuracy, color: "#1976d2", weight: 1, fillOpacity: 0.1, interactive: false }),
        L.circleMarker(event.latlng, { radius: 7, color: "#fff", weight: 2, fillColor: "#1976d2", fillOpacity: 1, interactive: false })
      ]).addTo(map);
    });
    map.on("locationerror", function () { showStatus("无法获取当前位置", "error"); hideStatus(3000); });
  }

  // ---------- 我的路段 panel (signed-in 路长) ----------
  var panel = document.getElementById("my-panel");
  function setupPanel() {
    if (!panel) { return; }
    var toggle = panel.querySelector(".panel-toggle");
    var open = window.innerWidth >= 960;
    var apply = function () {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      panel.classList.toggle("open", open);
      setTimeout(function () { map.invalidateSize(); }, 220);
    };
    toggle.addEventListener("click", function () { open = !open; apply(); });
    apply();
  }

  function fillPanel() {
    if (!panel) { return; }
    var body = panel.querySelector(".panel-body");
    var count = panel.querySelector("[data-my-count]");
    body.textContent = "";
    var total = 0;
    index.forEach(function (f) { if (f.properties.listed !== false) { total += Math.round(parseFloat(f.properties.listed_km) * 1000); } });
    count.textContent = index.length + " 段 · " + (total / 1000).toFixed(3) + " km";
    if (!index.length) {
      body.appendChild(el("p", "muted panel-empty", "您目前没有负责的路段。"));
      return;
    }
    var roads = [];
    var byCode = {};
    index.forEach(function (f) {
      var p = f.properties;
      if (!byCode[p.code]) { byCode[p.code] = { code: p.code, name: p.name, cls: p["class"], items: [] }; roads.push(byCode[p.code]); }
      byCode[p.code].items.push(f);
    });
    roads.sort(function (a, b) { return a.code < b.code ? -1 : 1; });
    var list = el("ul", "my-roads");
    roads.forEach(function (road) {
      var li = el("li", "my-road");
      var head = el("div", "my-road-head");
      head.appendChild(el("span", "mono", road.code));
      head.appendChild(el("span", "my-road-name", road.name));
      head.appendChild(el("span", "badge cls-" + CLASSES.indexOf(road.cls), road.cls));
      li.appendChild(head);
      var segs = el("ul", "my-segments");
      road.items.sort(function (a, b) { return a.properties.start_m - b.properties.start_m; });
      road.items.forEach(function (f) {
        var p = f.properties;
        var item = el("li");
        var button = el("button", "my-segment");
        button.type = "button";
        button.setAttribute("data-segment-id", String(p.id));
        button.appendChild(el("span", "mono", stake(p.start_m) + "–" + stake(p.end_m)));
        button.appendChild(el("span", "my-segment-km", p.listed_km + " km"));
        if (p.village || p.town) { button.appendChild(el("span", "my-segment-place", p.village || p.town)); }
        if (p.grade) { button.appendChild(el("span", "badge grade-" + GRADES.indexOf(p.grade), p.grade)); }
        button.addEventListener("click", function () {
          if (window.innerWidth < 960) {   // give the map back on phones
            panel.classList.remove("open");
            panel.querySelector(".panel-toggle").setAttribute("aria-expanded", "false");
            setTimeout(function () { map.invalidateSize(); goToSegment(p.id); }, 220);
          } else {
            goToSegment(p.id);
          }
        });
        item.appendChild(button);
        segs.appendChild(item);
      });
      li.appendChild(segs);
      list.appendChild(li);
    });
    body.appendChild(list);
  }

  // ---------- start ----------
  setupPanel();
  map.on("moveend", loadViewSoon);
  map.on("moveend", loadMarkersSoon);
  loadTowns();
  loadGaps();
  map.on("click", function () {
    if (Object.keys(highlighted).length) { highlighted = {}; restyle(); }
  });

  showStatus("正在加载路网…", "loading");
  getJSON(api + "?zoom=8")
    .then(function (data) {
      index = data.features || [];
      var all = null;
      index.forEach(function (f) {
        f.bounds = boundsOf(f.geometry);
        indexById[f.properties.id] = f;
        if (f.bounds) { all = all ? all.extend(f.bounds) : L.latLngBounds(f.bounds.getSouthWest(), f.bounds.getNorthEast()); }
      });
      container.setAttribute("data-index", String(index.length));
      legend.update();
      fillPanel();
      if (all) {
        map.fitBounds(all, { padding: [20, 20] });
      } else {
        map.setView(DEFAULT_CENTER, 11);
        showStatus(myChiefId ? "您目前没有负责的路段" : "暂无路段数据", "info");
        hideStatus(4000);
      }
      loadViewSoon();
    })
    .catch(function () {
      try { map.getCenter(); } catch (e) { map.setView(DEFAULT_CENTER, 11); }
      if (status.className.indexOf("error") === -1) { showStatus("网络异常，路网数据未能加载", "error"); }
    });

  // A handle for the browser tests and for debugging from the console.
  window.roadchiefMap = {
    map: map,
    openSegment: goToSegment,
    search: function (text) { var hits = search(text); if (hits.length) { searchControl.choose(hits[0]); } return hits.length; },
    loadedIds: function () { return Object.keys(loaded).map(Number); },
    reloadMarkers: function () { loadMarkers(true); },
    reloadGaps: loadGaps,
    markerLayers: { inspections: inspectionLayer, rectifications: rectLayer },
    layersControl: layersControl,
    el: el,
    gapIds: function () { return Object.keys(gapIds).map(Number); }
  };
}());
