/* A GPS button for forms with longitude/latitude fields (the event form, the asset form):
   <button type="button" class="js-gps-fill" data-lon="#lon" data-lat="#lat" data-status="#gps-status">
   asks navigator.geolocation for the phone's position and fills the two fields (6 decimals,
   WGS84 as the fields expect; an optional data-check="#radio" is ticked too, e.g. 按经纬度);
   the status element says what happened, in Chinese — also when
   the permission is denied, there is no fix, or the page is not on HTTPS. The button is hidden
   until this script shows it (no JS, no button). No inline script (CSP). */
(function () {
  "use strict";

  function explain(error) {
    if (!window.isSecureContext) { return "定位只能在 HTTPS 连接下使用，请手动填写经纬度。"; }
    if (error.code === 1) { return "未获得定位权限：请在浏览器或系统设置中允许本网站使用位置信息，或手动填写经纬度。"; }
    if (error.code === 3) { return "定位超时，请到开阔处重试，或手动填写经纬度。"; }
    return "无法获得位置（GPS 信号弱或定位已关闭），请重试，或手动填写经纬度。";
  }

  function wire(button) {
    var lon = document.querySelector(button.getAttribute("data-lon"));
    var lat = document.querySelector(button.getAttribute("data-lat"));
    var status = document.querySelector(button.getAttribute("data-status"));
    if (!lon || !lat) { return; }
    function say(kind, text) {
      if (!status) { return; }
      status.textContent = text;
      status.className = "gps-status small " + (kind === "error" ? "gps-error" : "muted");
      status.hidden = false;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!navigator.geolocation) { say("error", "此浏览器不支持定位，请手动填写经纬度。"); return; }
      button.disabled = true;
      say("info", "定位中…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        lon.value = pos.coords.longitude.toFixed(6);
        lat.value = pos.coords.latitude.toFixed(6);
        var pick = button.getAttribute("data-check") && document.querySelector(button.getAttribute("data-check"));
        if (pick) { pick.checked = true; }
        [lon, lat].forEach(function (field) { field.dispatchEvent(new Event("change", { bubbles: true })); });
        say("info", "已定位：" + lon.value + ", " + lat.value + "（精度约 " + Math.round(pos.coords.accuracy) + " 米）");
        button.disabled = false;
      }, function (error) {
        say("error", explain(error));
        button.disabled = false;
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 });
    });
  }

  function init() { Array.prototype.forEach.call(document.querySelectorAll(".js-gps-fill"), wire); }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
