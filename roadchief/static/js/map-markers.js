/* The front-page map, part 4: inspection and open-rectification markers (GET {markers-api}),
 * clustered, overdue rectifications red with their own icon; reloaded by bbox on moveend
 * (debounced, abortable, only when the view leaves the loaded area). Popups from text nodes. */
(function () {
  "use strict";
  var rc = window.roadchiefMapParts;
  if (!rc) { return; }
  var el = rc.el, debounce = rc.debounce, fact = rc.fact, getJSON = rc.getJSON;
  var showStatus = rc.showStatus, hideStatus = rc.hideStatus, status = rc.status;
  var map = rc.map, container = rc.container, markersApi = rc.markersApi;
  var inspectionLayer = rc.inspectionLayer, rectLayer = rc.rectLayer;

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

  rc.loadMarkers = loadMarkers;
  rc.loadMarkersSoon = loadMarkersSoon;
}());
