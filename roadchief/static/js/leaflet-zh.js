/* Leaflet's own control texts in Chinese, for every map of the site (loaded right after
 * vendor/leaflet/leaflet.js, before any map is built): zoom buttons, the attribution prefix,
 * the layer switcher's button, popup close buttons and the scale bar (米 / 公里).
 * Static strings only; nothing from the data goes through here. */
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }

  L.Control.Zoom.mergeOptions({ zoomInTitle: "放大", zoomOutTitle: "缩小" });
  L.Control.Attribution.mergeOptions({
    prefix: '<a href="https://leafletjs.com" title="开源网页地图库">Leaflet 地图</a>'
  });

  var initLayers = L.Control.Layers.prototype._initLayout;
  L.Control.Layers.include({
    _initLayout: function () {
      initLayers.call(this);
      if (this._layersLink) {
        this._layersLink.title = "图层";
        this._layersLink.setAttribute("aria-label", "切换图层");
      }
    }
  });

  var initPopup = L.Popup.prototype._initLayout;
  L.Popup.include({
    _initLayout: function () {
      initPopup.call(this);
      var close = this._closeButton;
      if (close) { close.setAttribute("aria-label", "关闭"); close.title = "关闭"; }
    }
  });

  L.Control.Scale.include({
    _updateMetric: function (maxMeters) {
      var meters = this._getRoundNum(maxMeters);
      var label = meters < 1000 ? meters + " 米" : (meters / 1000) + " 公里";
      this._updateScale(this._mScale, label, meters / maxMeters);
    }
  });
}());
