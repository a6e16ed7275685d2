/* The phone's patrol recorder (巡查轨迹, 第二十二条): start/stop, GPS fixes from
 * navigator.geolocation.watchPosition kept in localStorage as they come (a reload resumes the
 * patrol), and on stop the track joins an upload queue sent to the API, retried when back online.
 * Each track carries its client id, so a repeated upload stores it once. */
(function () {
  "use strict";
  var root = document.getElementById("patrol");
  if (!root) { return; }
  var CURRENT = "roadchief.patrol.current", QUEUE = "roadchief.patrol.queue";
  var MAX_ACCURACY_M = 100;   // fixes worse than this are not kept
  var api = root.getAttribute("data-api"), csrf = root.getAttribute("data-csrf");
  var $ = function (id) { return document.getElementById(id); };
  var kind = $("patrol-kind"), phase = $("patrol-phase"), phaseField = $("patrol-phase-field"), note = $("patrol-note");
  var startButton = $("patrol-start"), stopButton = $("patrol-stop"), result = $("patrol-result");
  var watchId = null, current = null, sending = false;

  function load(key, fallback) {
    try { var v = JSON.parse(window.localStorage.getItem(key)); return v === null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(key, value) {
    try {
      if (value === null) { window.localStorage.removeItem(key); } else { window.localStorage.setItem(key, JSON.stringify(value)); }
    } catch (e) { say("本机存储已满或不可用，轨迹可能无法保存", true); }
  }
  function say(text, bad) { result.textContent = text; result.className = bad ? "flash flash-error" : "flash flash-success"; }
  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16); window.crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function metres(a, b) {   // haversine, for the live figure only (the server measures in EPSG:4544)
    var r = 6371000, rad = Math.PI / 180;
    var dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
    var s = Math.sin(dLat / 2) * Math.sin(dLat / 2) + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * r * Math.asin(Math.sqrt(s));
  }

  function showPhase() {
    var k = kind.value, first = null;
    Array.prototype.forEach.call(phase.options, function (o) {
      var fits = o.getAttribute("data-kind") === k;
      o.hidden = !fits; o.disabled = !fits;
      if (fits && first === null) { first = o; }
    });
    phaseField.hidden = first === null;
    if (first && (phase.selectedIndex < 0 || phase.options[phase.selectedIndex].disabled)) { phase.value = first.value; }
  }

  function stats() {
    var pts = current ? current.points : [];
    var length = 0;
    for (var i = 1; i < pts.length; i += 1) { length += metres(pts[i - 1], pts[i]); }
    $("patrol-points").textContent = String(pts.length);
    $("patrol-duration").textContent = pts.length > 1 ? Math.round((pts[pts.length - 1].t - pts[0].t) / 60000) + " 分钟" : "0 分钟";
    $("patrol-length").textContent = Math.round(length) + " 米";
    root.setAttribute("data-points", String(pts.length));
  }

  function recording(on, text) {
    startButton.disabled = on; stopButton.disabled = !on;
    kind.disabled = on; phase.disabled = on;
    root.classList.toggle("is-recording", on);
    $("patrol-state").textContent = text;
  }

  function onFix(position) {
    if (!current) { return; }
    var c = position.coords;
    $("patrol-accuracy").textContent = Math.round(c.accuracy) + " 米";
    if (c.accuracy > MAX_ACCURACY_M) { return; }
    var point = { lon: Math.round(c.longitude * 1e7) / 1e7, lat: Math.round(c.latitude * 1e7) / 1e7, t: position.timestamp || Date.now() };
    var last = current.points[current.points.length - 1];
    if (last && point.t <= last.t) { return; }
    current.points.push(point);
    save(CURRENT, current);
    stats();
  }
  function onError(error) {
    var text = error.code === 1 ? "未获得定位权限，请在浏览器设置中允许定位" : "暂时无法定位，继续等待信号…";
    $("patrol-state").textContent = text;
  }
  function watch() {
    if (!navigator.geolocation) { say("本设备不支持定位", true); return false; }
    watchId = navigator.geolocation.watchPosition(onFix, onError, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    return true;
  }

  function start() {
    current = { client_id: uuid(), kind: kind.value, duty_phase: phaseField.hidden ? null : phase.value,
                note: note.value, points: [] };
    save(CURRENT, current);
    if (watch()) { recording(true, "记录中"); stats(); }
  }

  function stop() {
    if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
    var track = current; current = null;
    save(CURRENT, null);
    recording(false, "已结束");
    if (!track || track.points.length < 2) { say("定位点不足 2 个，未上传", true); stats(); return; }
    track.note = note.value;
    var queue = load(QUEUE, []);
    queue.push(track);
    save(QUEUE, queue);
    showQueue();
    send();
  }

  function showQueue() {
    var list = $("patrol-queue"), queue = load(QUEUE, []);
    list.textContent = "";
    root.setAttribute("data-queued", String(queue.length));
    if (!queue.length) { var none = document.createElement("li"); none.className = "muted"; none.textContent = "无"; list.appendChild(none); return; }
    queue.forEach(function (t) {
      var li = document.createElement("li");
      var when = new Date(t.points[0].t);
      li.textContent = when.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) + "，" + t.points.length + " 个点" + (t.error ? "：" + t.error : "");
      list.appendChild(li);
    });
  }

  function send() {
    var queue = load(QUEUE, []);
    if (sending || !queue.length) { return; }
    if (navigator.onLine === false) { say("当前离线，恢复网络后自动上传", true); return; }
    sending = true;
    var track = queue[0];
    fetch(api, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ client_id: track.client_id, kind: track.kind, duty_phase: track.duty_phase, note: track.note, points: track.points })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) { return { status: response.status, body: body }; });
    }).then(function (answer) {
      sending = false;
      var rest = load(QUEUE, []).filter(function (t) { return t.client_id !== track.client_id; });
      if (answer.status === 200 || answer.status === 201) {
        save(QUEUE, rest); showQueue();
        var body = answer.body, labels = (body.flag_labels || []).join("、");
        say("已上传：" + (body.metrics ? body.metrics.length_m + " 米，" : "") + (body.passed ? "核验通过" : "核验未通过") + (labels ? "（" + labels + "）" : ""), !body.passed);
        root.setAttribute("data-uploaded", String(body.id || ""));
        send();
      } else if (answer.status >= 500 || answer.status === 429 || answer.status === 401) {
        say(answer.status === 401 ? "登录已过期，请重新登录后点“重新上传”" : "服务器暂时无法接收，稍后重试", true);
      } else {
        track.error = (answer.body && (answer.body.error || answer.body.message)) || ("上传失败（" + answer.status + "）");
        save(QUEUE, [track].concat(rest)); showQueue();
        say(track.error, true);
      }
    }).catch(function () { sending = false; say("网络不可用，恢复网络后自动上传", true); });
  }

  kind.addEventListener("change", showPhase);
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  $("patrol-retry").addEventListener("click", send);
  window.addEventListener("online", send);

  showPhase();
  current = load(CURRENT, null);
  if (current && current.points) {
    kind.value = current.kind;
    showPhase();
    if (current.duty_phase) { phase.value = current.duty_phase; }
    note.value = current.note || "";
    if (watch()) { recording(true, "记录中（已恢复）"); }
  } else { current = null; }
  stats();
  showQueue();
  send();
}());
