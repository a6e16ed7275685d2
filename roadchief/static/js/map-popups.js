/* The front-page map, part 3: a segment's popup (code, class, stakes, listed km, place, latest
 * score, and its chiefs from GET /api/v1/segments/<id>), built from DOM nodes and textContent
 * only; selecting a segment, and zooming to one from the search or the panel. */
(function () {
  "use strict";
  var rc = window.roadchiefMapParts;
  if (!rc) { return; }
  var el = rc.el, stake = rc.stake, eachCoordinate = rc.eachCoordinate;
  var CLASSES = rc.CLASSES, GRADES = rc.GRADES;
  var map = rc.map, state = rc.state, segmentUrl = rc.segmentUrl, detailApi = rc.detailApi;
  var styleFor = rc.styleFor, updateHalo = rc.updateHalo;
  var detailCache = {};

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
      if (popup.isOpen() && state.selectedId === id) { popup.update(); }
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
    var item = state.loaded[id];
    if (!item) { return; }
    var previous = state.selectedId;
    state.selectedId = id;
    if (previous !== null && state.loaded[previous]) { state.loaded[previous].line.setStyle(styleFor(state.loaded[previous].feature)); }
    item.line.setStyle(styleFor(item.feature));
    item.line.bringToFront();
    updateHalo();
    fitPopupHeight();
    popup.setLatLng(latlng || pointOn(item.feature)).setContent(popupContent(item.feature.properties)).openOn(map);
  }

  map.on("popupclose", function () {
    var id = state.selectedId;
    state.selectedId = null;
    if (id !== null && state.loaded[id]) { state.loaded[id].line.setStyle(styleFor(state.loaded[id].feature)); }
    updateHalo();
  });

  // Zoom to a segment from the index (search, panel) and open its popup once drawn.
  function goToSegment(id) {
    var f = state.indexById[id];
    if (!f) { return; }
    var b = f.bounds;
    state.pendingOpen = id;
    // room above the line for the popup that opens on it
    // over vector tiles (map-tiles.js) a segment opens only in the detailed view: zoom 13 at least
    if (b && rc.tiles) { map.setView(b.getCenter(), Math.max(13, Math.min(15, map.getBoundsZoom(b) - 1))); }
    else if (b) { map.fitBounds(b, { paddingTopLeft: [30, Math.min(260, map.getSize().y * 0.4)], paddingBottomRight: [30, 30], maxZoom: 15 }); }
    // when the view did not need a reload, the feature is already there
    setTimeout(function () { if (state.pendingOpen === id && state.loaded[id]) { state.pendingOpen = null; openPopup(id); } }, 400);
  }

  rc.fact = fact;
  rc.openPopup = openPopup;
  rc.goToSegment = goToSegment;
}());
