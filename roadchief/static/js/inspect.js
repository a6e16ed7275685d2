/* The inspection field form (/inspections/new), phone first.
   - a client-generated client_uuid makes a repeated submit idempotent on the server;
   - browser geolocation → the nearest segments (GET /inspections/nearest), with a
     warning when a chosen segment is more than data-gps-limit metres from the point;
   - finding rows added from a <template>; each row's unit hint follows its item;
   - the 汛期/冬季 duty sub-type select (雨前/雨中/雨后, 除雪/撒砂) shows only for its kind;
   - the 路产 select lists the assets of the ticked segments (GET data-assets-url);
   - the text fields are saved to localStorage on every change (draft) and restored on
     request; a submit that fails for lack of network keeps the draft and retries when
     the connection returns. Photos cannot be kept in localStorage (said in the page).
   No inline script (CSP): everything hangs off classes and data- attributes. */
(function () {
  "use strict";

  var form = document.getElementById("inspect-form");
  if (!form) { return; }
  var limit = parseInt(form.getAttribute("data-gps-limit"), 10) || 500;
  var draftKey = form.getAttribute("data-draft-key");
  var nearestUrl = form.getAttribute("data-nearest-url");
  var list = form.querySelector(".js-segments");
  var findings = form.querySelector(".js-findings");
  var template = document.getElementById("finding-template");
  var statusBox = document.getElementById("submit-status");
  var banner = document.getElementById("draft-banner");
  var gpsStatus = document.querySelector(".js-gps-status");
  var submitting = false;
  var retryTimer = null;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);  // available on plain HTTP too
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function show(el, on) { if (el) { el.hidden = !on; } }

  function say(kind, html) {
    statusBox.className = "alert alert-" + kind;
    statusBox.textContent = "";
    if (typeof html === "string") { statusBox.textContent = html; } else { statusBox.appendChild(html); }
    show(statusBox, true);
    statusBox.scrollIntoView({ block: "nearest" });
  }

  // ---------------------------------------------------------------- segments

  function checkedSegments() {
    return $all("input[name=segment_ids]:checked", list).map(function (box) {
      return { id: box.value, label: box.getAttribute("data-label"), distance: box.getAttribute("data-distance") };
    });
  }

  function segmentItem(seg, checked) {
    var li = document.createElement("li");
    var label = document.createElement("label");
    label.className = "choice";
    var box = document.createElement("input");
    box.type = "checkbox"; box.name = "segment_ids"; box.value = seg.id; box.checked = !!checked;
    box.setAttribute("data-label", seg.road_code ? seg.road_code + " " + seg.start + "–" + seg.end : seg.label);
    if (seg.distance_m !== null && seg.distance_m !== undefined) { box.setAttribute("data-distance", seg.distance_m); }
    var text = document.createElement("span");
    text.className = "choice-text";
    text.textContent = seg.label_full || seg.label + " ";
    if (seg.distance_m !== null && seg.distance_m !== undefined) {
      var badge = document.createElement("span");
      badge.className = "badge " + (seg.distance_m > limit ? "badge-warn" : "badge-muted");
      badge.textContent = seg.distance_m + " 米";
      text.appendChild(badge);
    }
    label.appendChild(box); label.appendChild(text); li.appendChild(label);
    return li;
  }

  // New candidates replace the list; segments already ticked stay, on top.
  function renderSegments(segments) {
    var keep = {};
    $all("input[name=segment_ids]:checked", list).forEach(function (box) { keep[box.value] = box.closest("li"); });
    list.textContent = "";
    Object.keys(keep).forEach(function (id) { list.appendChild(keep[id]); });
    segments.forEach(function (seg, i) {
      if (keep[String(seg.id)]) { return; }
      var only = segments.length && !Object.keys(keep).length && i === 0 && seg.distance_m !== null && seg.distance_m <= limit;
      list.appendChild(segmentItem(seg, only));
    });
    if (!list.children.length) {
      var li = document.createElement("li");
      li.className = "muted small";
      li.textContent = "附近没有可登记的路段，请按路线编码或村名查找。";
      list.appendChild(li);
    }
    segmentsChanged();
  }

  function segmentsChanged() {
    var chosen = checkedSegments();
    var far = chosen.filter(function (s) { return s.distance && parseInt(s.distance, 10) > limit; });
    var warning = document.getElementById("distance-warning");
    if (far.length) {
      warning.textContent = far.map(function (s) {
        return "所选路段 " + s.label + " 距定位点约 " + s.distance + " 米（超过 " + limit + " 米），请核对是否选错路段。";
      }).join(" ");
    }
    show(warning, far.length > 0);
    $all(".js-finding-segment", findings).forEach(function (select) { fillSegmentSelect(select, chosen); });
    refreshAssets(chosen);
  }

  // ---------------------------------------------------------------- duty sub-type and assets

  function kindChanged() {
    var kind = form.elements.kind ? form.elements.kind.value : "";
    $all(".js-duty-phase", form).forEach(function (box) {
      var on = box.getAttribute("data-kind") === kind;
      box.hidden = !on;
      var select = $("select", box);
      select.required = on;
      select.disabled = !on;
    });
  }

  var assetsKey = null;

  function fillAssets(select, assets) {
    var current = select.value;
    select.textContent = "";
    var blank = document.createElement("option");
    blank.value = ""; blank.textContent = assets.length ? "— 不关联路产 —" : "— 所选路段无路产 —";
    select.appendChild(blank);
    assets.forEach(function (a) {
      var option = document.createElement("option");
      option.value = a.id; option.textContent = a.label;
      option.setAttribute("data-segment", a.segment_id);
      select.appendChild(option);
    });
    select.value = current;
    if (select.value !== current) { select.value = ""; }
  }

  function refreshAssets(chosen) {
    var select = $(".js-assets", form);
    if (!select) { return; }
    var ids = chosen.map(function (s) { return s.id; }).sort();
    var key = ids.join(",");
    if (key === assetsKey) { return; }
    assetsKey = key;
    if (!ids.length) { fillAssets(select, []); return; }
    if (!navigator.onLine) { return; }
    var url = select.getAttribute("data-assets-url") + "?" + ids.map(function (id) { return "segment_id=" + encodeURIComponent(id); }).join("&");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { assets: null }; })
      .then(function (data) { if (data.assets && key === assetsKey) { fillAssets(select, data.assets); } })
      .catch(function () { assetsKey = null; });
  }

  function fillSegmentSelect(select, chosen) {
    var current = select.value;
    select.textContent = "";
    var blank = document.createElement("option");
    blank.value = ""; blank.textContent = chosen.length ? "— 所在路段 —" : "— 请先勾选检查路段 —";
    select.appendChild(blank);
    chosen.forEach(function (s) {
      var option = document.createElement("option");
      option.value = s.id; option.textContent = s.label;
      select.appendChild(option);
    });
    select.value = current;
    if (!select.value && chosen.length === 1) { select.value = chosen[0].id; }
  }

  function fetchSegments(query) {
    if (!navigator.onLine) { say("warning", "当前无网络，无法查找路段。"); return; }
    fetch(nearestUrl + "?" + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        if (!res.ok) { say("error", res.data.error || "查找路段失败"); return; }
        renderSegments(res.data.segments || []);
        saveDraft();
      })
      .catch(function () { say("warning", "查找路段失败：网络不可用。"); });
  }

  function locate() {
    if (!navigator.geolocation) { gpsStatus.textContent = "此浏览器不支持定位，请按路线编码或村名查找。"; return; }
    gpsStatus.textContent = "定位中…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lon = pos.coords.longitude.toFixed(6), lat = pos.coords.latitude.toFixed(6);
      $(".js-lon", form).value = lon;
      $(".js-lat", form).value = lat;
      gpsStatus.textContent = "已定位：" + lon + ", " + lat + "（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
      fetchSegments("lon=" + lon + "&lat=" + lat);
    }, function (error) {
      gpsStatus.textContent = error.code === 1 ? "未获得定位权限，请在浏览器设置中允许，或按路线编码查找。"
        : "定位失败（" + error.message + "），请到开阔处重试，或按路线编码查找。";
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 });
  }

  // ---------------------------------------------------------------- findings

  var UNIT_HINTS = { "处": "处数", "次": "次数", "100m": "长度（米），每起算 100 米扣一次" };

  function updateUnit(row) {
    var select = $(".js-item", row);
    var option = select.options[select.selectedIndex];
    var unit = option ? option.getAttribute("data-unit") : null;
    $(".js-unit", row).textContent = unit ? UNIT_HINTS[unit] || unit : "处 / 次；按 100 m 计的项填长度（米）";
  }

  function nextIndex() {
    return $all(".finding", findings).reduce(function (max, row) {
      return Math.max(max, parseInt(row.getAttribute("data-index"), 10) + 1);
    }, 0);
  }

  function renumber() {
    $all(".finding", findings).forEach(function (row, i) { $(".finding-no", row).textContent = i + 1; });
  }

  function addFinding(index) {
    var n = index === undefined ? nextIndex() : index;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__N__/g, String(n));
    var row = holder.firstElementChild;
    findings.appendChild(row);
    $(".js-remove-finding", row).hidden = false;
    fillSegmentSelect($(".js-finding-segment", row), checkedSegments());
    renumber();
    return row;
  }

  // ---------------------------------------------------------------- draft (text only)

  function collect() {
    var fields = {};
    $all("input, select, textarea", form).forEach(function (el) {
      if (!el.name || el.type === "file" || el.name === "csrf_token") { return; }
      if (el.type === "checkbox") {
        if (el.checked) { (fields[el.name] = fields[el.name] || []).push(el.value); }
        return;
      }
      fields[el.name] = el.value;
    });
    var segments = $all("input[name=segment_ids]", list).map(function (box) {
      var d = box.getAttribute("data-distance");
      return { id: box.value, label: box.getAttribute("data-label"), label_full: box.parentNode.textContent.replace(/\s+/g, " ").trim(),
               distance_m: d === null ? null : parseInt(d, 10) };
    });
    var rows = $all(".finding", findings).map(function (row) { return row.getAttribute("data-index"); });
    return { saved: new Date().toISOString(), fields: fields, segments: segments, rows: rows };
  }

  function hasContent(draft) {
    var f = draft.fields;
    return (f.segment_ids && f.segment_ids.length) || Object.keys(f).some(function (k) {
      return /^f-\d+-(item|note)$/.test(k) && f[k] || k === "note" && f[k];
    });
  }

  function saveDraft() {
    try {
      var draft = collect();
      if (hasContent(draft)) { localStorage.setItem(draftKey, JSON.stringify(draft)); }
    } catch (e) { /* storage full or disabled: nothing more to do */ }
  }

  function loadDraft() {
    try { return JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (e) { return null; }
  }

  function clearDraft() { try { localStorage.removeItem(draftKey); } catch (e) { /* ignore */ } }

  function restore(draft) {
    list.textContent = "";
    var ticked = draft.fields.segment_ids || [];
    draft.segments.forEach(function (seg) {
      list.appendChild(segmentItem(seg, ticked.indexOf(String(seg.id)) >= 0));
    });
    findings.textContent = "";
    draft.rows.forEach(function (n) { addFinding(parseInt(n, 10)); });
    if (!draft.rows.length) { addFinding(0); }
    segmentsChanged();
    Object.keys(draft.fields).forEach(function (name) {
      if (name === "segment_ids") { return; }
      var el = form.elements[name];
      if (el && el.type !== "file") { el.value = draft.fields[name]; }
    });
    $all(".finding", findings).forEach(updateUnit);
    kindChanged();
    gpsStatus.textContent = draft.fields.lon ? "定位（草稿）：" + draft.fields.lon + ", " + draft.fields.lat : "";
  }

  // ---------------------------------------------------------------- submit with retry

  function errorList(data) {
    var box = document.createElement("div");
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = data.error || "提交失败";
    p.appendChild(strong); box.appendChild(p);
    if (data.errors && data.errors.length) {
      var ul = document.createElement("ul");
      data.errors.forEach(function (e) { var li = document.createElement("li"); li.textContent = e; ul.appendChild(li); });
      box.appendChild(ul);
    }
    return box;
  }

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = setInterval(function () { if (navigator.onLine) { submit(true); } }, 15000);
  }

  function submit(isRetry) {
    if (submitting) { return; }
    submitting = true;
    saveDraft();
    var button = $(".btn-submit", form);
    button.disabled = true;
    say("info", isRetry ? "正在重试提交…" : "正在提交…");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                         headers: { "X-Requested-With": "fetch", "Accept": "application/json" } })
      .then(function (r) {
        if (r.redirected && r.url.indexOf("/login") >= 0) {
          throw { kind: "login" };
        }
        var type = r.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") < 0) { throw { kind: "http", status: r.status }; }
        return r.json().then(function (data) { return { status: r.status, data: data }; });
      })
      .then(function (res) {
        if (res.data.ok) {
          clearDraft();
          if (retryTimer) { clearInterval(retryTimer); retryTimer = null; }
          say("ok", "已保存，正在打开检查记录…");
          window.location.assign(res.data.url);
          return;
        }
        say("error", errorList(res.data));
      })
      .catch(function (problem) {
        if (problem && problem.kind === "login") {
          say("warning", "登录已过期：草稿已保存在本机。请在新窗口重新登录后回到此页提交。");
        } else if (problem && problem.kind === "http") {
          say("error", problem.status === 413 ? "照片过大，请减少照片数量后重试（草稿已保存）。"
            : "提交失败（" + problem.status + "），草稿已保存在本机，请稍后重试。");
        } else {
          say("warning", "有未提交的草稿：网络中断，检查记录已保存在本机，恢复网络后将自动重试提交。请勿关闭此页（照片只在此页面中保留）。");
          scheduleRetry();
        }
      })
      .then(function () { submitting = false; button.disabled = false; });
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    var uuidField = $(".js-uuid", form);
    if (!uuidField.value) { uuidField.value = uuid4(); }
    $all(".js-locate, .js-add-finding").forEach(function (el) { el.hidden = false; });
    var locateButton = $(".js-locate");
    if (locateButton) { locateButton.addEventListener("click", locate); }
    var search = $(".js-search-form");
    if (search) {
      search.addEventListener("submit", function (event) {
        event.preventDefault();
        var q = search.elements.q.value.trim();
        if (q) { fetchSegments("q=" + encodeURIComponent(q)); }
      });
    }
    $(".js-add-finding").addEventListener("click", function () { addFinding(); saveDraft(); });
    findings.addEventListener("click", function (event) {
      if (event.target.classList.contains("js-remove-finding")) {
        event.target.closest(".finding").remove();
        renumber();
        saveDraft();
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "segment_ids") { segmentsChanged(); }
      if (event.target.name === "kind") { kindChanged(); }
      if (event.target.classList.contains("js-item")) { updateUnit(event.target.closest(".finding")); }
      saveDraft();
    });
    form.addEventListener("input", saveDraft);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!checkedSegments().length) { say("error", "请至少勾选一个检查路段。"); return; }
      submit(false);
    });
    window.addEventListener("online", function () { if (retryTimer) { submit(true); } });
    // without JS three blank rows are offered; with it, one (and "添加问题")
    $all(".finding", findings).slice(1).forEach(function (row) {
      if (!$(".js-item", row).value && !$("input[type=text]", row).value) { row.remove(); }
    });
    $all(".finding", findings).forEach(updateUnit);
    kindChanged();
    segmentsChanged();

    var draft = loadDraft();
    if (draft && hasContent(draft)) {
      $(".js-draft-text").textContent = "上次填写的检查记录（保存于 " + new Date(draft.saved).toLocaleString("zh-CN") + "）尚未提交成功。";
      show(banner, true);
      $(".js-draft-restore").addEventListener("click", function () {
        restore(draft);
        show(banner, false);
        say("info", "草稿已恢复（同一提交编号，重复提交不会产生两条记录）。照片请重新拍摄或选择后提交。");
      });
      $(".js-draft-discard").addEventListener("click", function () { clearDraft(); show(banner, false); });
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
