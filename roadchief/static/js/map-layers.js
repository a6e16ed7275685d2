/* The front-page map, part 2: the road layers (one group per class, with wide invisible lines
 * that catch clicks), the halo of selected and searched-for segments, the town outlines, the
 * segments lacking a required chief, the marker cluster layers, the layer switcher, the
 * colouring (by class, grade or town) and its legend. */
(function () {
  "use strict";
  var rc = window.roadchiefMapParts;
  if (!rc) { return; }
  var el = rc.el, townColour = rc.townColour, getJSON = rc.getJSON;
  var CLASSES = rc.CLASSES, CLASS_COLOURS = rc.CLASS_COLOURS, CLASS_WEIGHTS = rc.CLASS_WEIGHTS;
  var GRADE_COLOURS = rc.GRADE_COLOURS, NO_SCORE_COLOUR = rc.NO_SCORE_COLOUR, GAP_COLOUR = rc.GAP_COLOUR;
  var TOWN_OUTLINE = rc.TOWN_OUTLINE, MODES = rc.MODES, STORAGE_KEY = rc.STORAGE_KEY, touch = rc.touch;
  var map = rc.map, container = rc.container, state = rc.state, baseLayers = rc.baseLayers;
  var tileUrl = rc.tileUrl, townsApi = rc.townsApi, gapsApi = rc.gapsApi, myChiefId = rc.myChiefId;
  function openPopup(id, latlng) { rc.openPopup(id, latlng); }  // map-popups.js

  var mode = "class";
  try {
    var saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved && MODES[saved]) { mode = saved; }
  } catch (e) { /* private mode */ }

  // Selected and searched-for segments get a yellow halo, in a pane of its own under the lines.
  map.createPane("halo");
  map.getPane("halo").style.zIndex = 390;    // overlayPane is 400
  var haloLayer = L.geoJSON(null, {
    pane: "halo",
    interactive: false,
    style: function (feature) {
      var selected = feature.properties.id === state.selectedId;
      return { color: selected ? "#ffd600" : "#fff176", weight: (CLASS_WEIGHTS[feature.properties["class"]] || 3) + (selected ? 12 : 9),
               opacity: 0.95, lineCap: "round", lineJoin: "round" };
    }
  }).addTo(map);

  function updateHalo() {
    haloLayer.clearLayers();
    var ids = Object.keys(state.highlighted).map(Number);
    if (state.selectedId !== null && ids.indexOf(state.selectedId) === -1) { ids.push(state.selectedId); }
    // drawn from the loaded view, else from the index (over vector tiles, where nothing is "loaded")
    ids.forEach(function (id) {
      var feature = state.loaded[id] ? state.loaded[id].feature : state.indexById[id];
      if (feature) { haloLayer.addData(feature); }
    });
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
        state.loaded[feature.properties.id] = { feature: feature, line: layer };
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
    if (state.highlighted[p.id]) { style.weight = weight + 1; style.opacity = 1; }
    if (state.selectedId === p.id) { style.weight = weight + 2; style.opacity = 1; }
    return style;
  }

  function restyle() {
    CLASSES.forEach(function (cls) { visibleLayers[cls].setStyle(styleFor); });
    updateHalo();
    if (state.selectedId !== null && state.loaded[state.selectedId]) { state.loaded[state.selectedId].line.bringToFront(); }
  }

  function hover(id, on) {
    var item = state.loaded[id];
    if (!item || id === state.selectedId) { return; }
    var style = styleFor(item.feature);
    if (on) { style.weight += 2; style.opacity = 1; }
    item.line.setStyle(style);
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
      if (state.loaded[id]) { gapLayer.addData(state.loaded[id].feature); drawn += 1; }
    });
    container.setAttribute("data-gaps-drawn", String(drawn));
  }

  function loadGaps() {
    // at province scale the list is the size of the network: the overview leaves it out (#15),
    // the 路长 register's coverage page lists the gaps
    if (!gapsApi || container.hasAttribute("data-road-tiles")) { return; }
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
        map.fire("colourmode", { mode: mode });   // the vector tiles draw their own lines (map-tiles.js)
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
        state.index.forEach(function (f) { towns[f.properties.town_code] = f.properties.town; });
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

  rc.visibleLayers = visibleLayers;
  rc.hitLayers = hitLayers;
  rc.inspectionLayer = inspectionLayer;
  rc.rectLayer = rectLayer;
  rc.layersControl = layersControl;
  rc.legend = legend;
  rc.styleFor = styleFor;
  rc.restyle = restyle;
  rc.updateHalo = updateHalo;
  rc.updateGaps = updateGaps;
  rc.loadTowns = loadTowns;
  rc.loadGaps = loadGaps;
  rc.gapIds = function () { return Object.keys(gapIds).map(Number); };
}());
