/* Public report form: fill the hidden lon/lat from the phone's location on request,
   and count the characters of the description. No inline script (CSP). */
(function () {
  "use strict";

  function setupLocation() {
    var button = document.getElementById("use-location");
    var lon = document.getElementById("lon");
    var lat = document.getElementById("lat");
    var status = document.getElementById("location-status");
    if (!button || !lon || !lat || !navigator.geolocation) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "正在获取位置……";
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        lon.value = pos.coords.longitude.toFixed(6);
        lat.value = pos.coords.latitude.toFixed(6);
        status.textContent = "已获取位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
        button.textContent = "重新获取位置";
        button.disabled = false;
      }, function () {
        status.textContent = "未能获取位置，可在描述中写明地点";
        button.disabled = false;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  function setupCounter() {
    var area = document.querySelector("textarea[data-counter]");
    if (!area) { return; }
    var out = document.getElementById(area.getAttribute("data-counter"));
    var max = parseInt(area.getAttribute("maxlength"), 10) || 500;
    function update() { out.textContent = area.value.length + " / " + max; }
    area.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupLocation();
    setupCounter();
  });
}());
