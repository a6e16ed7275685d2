/* The front-page map, part 5: finding one's way — the search box (road code or name, village,
 * town; from the whole-network index), locate-me for roadside use, and the 我的路段 panel of a
 * signed-in 路长. Results are DOM nodes with textContent. */
(function () {
  "use strict";
  var rc = window.roadchiefMapParts;
  if (!rc) { return; }
  var el = rc.el, stake = rc.stake, debounce = rc.debounce, normal = rc.normal;
  var CLASSES = rc.CLASSES, GRADES = rc.GRADES;
  var map = rc.map, state = rc.state, showStatus = rc.showStatus, hideStatus = rc.hideStatus;
  var restyle = rc.restyle, goToSegment = rc.goToSegment;

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
      var run = debounce(function () { lookup(input.value, function (hits) { self.show(hits); }); }, rc.tiles ? 300 : 120);
      input.addEventListener("input", run);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          lookup(input.value, function (hits) {
            if (hits.length) { self.choose(hits[0]); } else { self.show(hits, true); }
          });
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
      state.highlighted = {};
      hit.ids.forEach(function (id) { state.highlighted[id] = true; });
      restyle();
      if (hit.ids.length === 1) { goToSegment(hit.ids[0]); }
      else if (hit.bounds) { map.fitBounds(hit.bounds, { padding: [40, 40], maxZoom: 15 }); }
      if (L.Browser.mobile) { this._input.blur(); }
    }
  });

  // With vector tiles (map-tiles.js) the index starts empty: the server is asked first and what
  // it finds joins the index, so the hits are made the same way.
  function lookup(text, done) {
    if (rc.tiles) { rc.tiles.ask(text, function () { done(search(text)); }); } else { done(search(text)); }
  }

  function search(text) {
    var q = normal(text);
    if (!q) { return []; }
    var roads = {};
    var villages = {};
    var towns = {};
    state.index.forEach(function (f) {
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
    state.index.forEach(function (f) { if (f.properties.listed !== false) { total += Math.round(parseFloat(f.properties.listed_km) * 1000); } });
    count.textContent = state.index.length + " 段 · " + (total / 1000).toFixed(3) + " km";
    if (rc.tiles) {   // too many to list: the map and the search show them
      count.textContent = rc.container.getAttribute("data-scope-count") + " 段";
      body.appendChild(el("p", "muted panel-empty", "负责的路段较多，请在地图上放大查看，或用搜索框查找路线。"));
      return;
    }
    if (!state.index.length) {
      body.appendChild(el("p", "muted panel-empty", "您目前没有负责的路段。"));
      return;
    }
    var roads = [];
    var byCode = {};
    state.index.forEach(function (f) {
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

  rc.search = search;
  rc.searchControl = searchControl;
  rc.setupPanel = setupPanel;
  rc.fillPanel = fillPanel;
}());
