/* The inspection field form (/inspections/new), phone first.
   - a client-generated client_uuid makes a repeated submit idempotent on the server;
   - browser geolocation → the nearest segments (GET /inspections/nearest), with a
     warning when a chosen segment is more than data-gps-limit metres from the point;
   - finding rows added from a <template>; each row's unit hint follows its item;
   - the 汛期/冬季 duty sub-type select (雨前/雨中/雨后, 除雪/撒砂) shows only for its kind;
   - the 路产 select lists the assets of the ticked segments (GET data-assets-url);
   - the draft (text fields, and the photos resized on the phone to ≤ 1600 px by
     field-photos.js) is kept in IndexedDB (offline-queue.js) on every change and comes back after a reload or a closed
     browser; a submit goes into the offline queue first (with the form's client id and one
     client id per photo), is sent at once when online, else when the connection returns
     (pwa.js), and leaves the queue only when the server has answered a receipt for every
     photo; the 待同步 list (sync-list.js) shows what waits. A refused submit comes back
     into the form with the server's errors.
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
  var Q = null;  // window.RoadchiefQueue (offline-queue.js), set in init
  var user = form.getAttribute("data-user");
  var photos = null;  // the form's photos kept on the phone (field-photos.js), set in init

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

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
    // offline, the service worker answers a search made here before (or says it has none)
    fetch(nearestUrl + "?" + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        if (!res.ok) { say("error", res.data.error || "查找路段失败"); return; }
        renderSegments(res.data.segments || []);
        saveDraft();
      })
      .catch(function () { say("warning", "当前无网络，无法查找路段（在有网络时查找过的路段离线也可再查）。"); });
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

  // ---------------------------------------------------------------- draft and photos (IndexedDB)

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
    return Q ? Q.drafts.put(draftKey, collect()).catch(function () { /* storage full: said on submit */ }) : Promise.resolve();
  }

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

  function restoreFromStore() {
    return Q.drafts.get(draftKey).then(function (draft) {
      if (draft) { restore(draft); }
      return photos.render();
    });
  }

  // ---------------------------------------------------------------- submit through the offline queue

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

  function csrfToken() { var f = form.elements.csrf_token; return f ? f.value : ""; }

  // the form as a queue item (offline-queue.js): its text parts and the draft's photos
  function queueItem() {
    var fields = [];
    new FormData(form).forEach(function (value, name) { if (typeof value === "string") { fields.push([name, value]); } });
    return Q.files.list(draftKey).then(function (files) {
      var kind = form.elements.kind;
      var kindText = kind && kind.options ? kind.options[kind.selectedIndex].text : "检查记录";
      return {
        id: $(".js-uuid", form).value, kind: "inspection", url: form.action, user: user, fields: fields, draft: collect(),
        label: kindText + " · " + checkedSegments().map(function (s) { return s.label; }).join("、"),
        files: files.map(function (f) {
          return { id: f.id, field: f.field, idField: f.field + "_client_id", blob: f.blob, name: f.name, sha256: f.sha256, added: f.added };
        })
      };
    });
  }

  // a blank form with a fresh client id (the last one is in the queue now)
  function resetForm() {
    form.reset();
    $(".js-uuid", form).value = Q.uuid4();
    $all(".finding", findings).forEach(function (row, i) { if (i) { row.remove(); } });
    if (!$(".finding", findings)) { addFinding(0); }
    $all("input[name=segment_ids]", list).forEach(function (box) { box.checked = false; });
    $all(".finding", findings).forEach(updateUnit);
    renumber(); kindChanged(); segmentsChanged();
    gpsStatus.textContent = "";
    return photos.render();
  }

  function flushFor(item, again) {
    return Q.flush({ user: user, csrf: csrfToken() }).then(function (results) {
      var mine = results.filter(function (r) { return r.item.id === item.id; })[0];
      return mine || (again ? { item: item, ok: false } : flushFor(item, true));  // a flush already under way missed it
    });
  }

  function sendNow(item) {
    say("info", "正在提交…");
    return flushFor(item, false).then(function (res) {
      if (res.ok) {
        say("ok", "已保存，正在打开检查记录…");
        window.location.assign(res.data.url);
        return;
      }
      var state = res.item.state;
      if (state === "failed") {  // refused by the server: back into the form, to fix and submit again
        return Q.drafts.remove(draftKey).then(function () { return Q.reopen(item.id, draftKey); })
          .then(restoreFromStore)
          .then(function () { say("error", errorList(res.data && res.data.error ? res.data : { error: res.item.error })); });
      }
      return resetForm().then(function () {
        say("warning", state === "login" ? "登录已过期：检查记录已存入本机“待同步”，重新登录后自动提交。"
          : state === "unconfirmed" ? "记录已保存，但服务器未确认全部照片，已留在“待同步”中。"
            : "网络中断：检查记录已存入本机“待同步”，恢复网络后自动提交（刷新或关闭浏览器不会丢失）。");
      });
    });
  }

  function submit() {
    if (submitting) { return; }
    submitting = true;
    var button = $(".btn-submit", form);
    button.disabled = true;
    say("info", "正在保存到本机…");
    photos.idle().then(saveDraft).then(queueItem)
      .then(function (item) { return Q.commit(item, draftKey); })
      .then(function (item) {
        if (navigator.onLine) { return sendNow(item); }
        return resetForm().then(function () {
          say("warning", "当前无网络：检查记录已存入本机“待同步”，恢复网络后自动提交（刷新或关闭浏览器不会丢失）。");
        });
      })
      .catch(function () { say("error", "未能保存到本机（存储空间不足？），请重试。"); })
      .then(function () { submitting = false; button.disabled = false; });
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    Q = window.RoadchiefQueue;
    if (!Q || !window.indexedDB) { say("warning", "此浏览器不能在本机保存记录，请在有网络时提交。"); }
    var uuidField = $(".js-uuid", form);
    if (!uuidField.value) { uuidField.value = Q ? Q.uuid4() : ""; }
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
    form.addEventListener("click", function (event) {
      var target = event.target;
      if (target.classList.contains("js-remove-finding")) {
        var row = target.closest(".finding");
        var field = $("input[type=file]", row).name;
        row.remove();
        renumber();
        if (photos) { photos.queue(function () { return photos.removeField(field).then(saveDraft); }); }
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.type === "file") { return; }  // field-photos.js keeps them
      if (event.target.name === "segment_ids") { segmentsChanged(); }
      if (event.target.name === "kind") { kindChanged(); }
      if (event.target.classList.contains("js-item")) { updateUnit(event.target.closest(".finding")); }
      saveDraft();
    });
    form.addEventListener("input", function (event) { if (event.target.type !== "file") { saveDraft(); } });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!checkedSegments().length) { say("error", "请至少勾选一个检查路段。"); return; }
      if (!Q) { form.submit(); return; }  // no IndexedDB: a plain form post
      submit();
    });
    // without JS three blank rows are offered; with it, one (and "添加问题")
    $all(".finding", findings).slice(1).forEach(function (row) {
      if (!$(".js-item", row).value && !$("input[type=text]", row).value) { row.remove(); }
    });
    $all(".finding", findings).forEach(updateUnit);
    kindChanged();
    segmentsChanged();
    if (!Q) { return; }
    photos = window.RoadchiefPhotos.attach(form, {
      draftKey: draftKey, maxPhotos: parseInt(form.getAttribute("data-max-photos"), 10) || 6, maxSide: 1600,
      saved: saveDraft, say: say
    });

    // a draft kept in this browser (text and photos) comes back by itself: nothing is lost on reload
    document.addEventListener("roadchief:reopen", function (event) {
      var draft = collect();
      Q.files.list(draftKey).then(function (files) {
        if (hasContent(draft) || files.length) { say("warning", "请先提交或丢弃正在填写的记录，再修改待同步中的记录。"); return; }
        return Q.drafts.remove(draftKey).then(function () { return Q.reopen(event.detail, draftKey); }).then(function (item) {
          if (!item) { return; }
          return restoreFromStore().then(function () { say("info", "已取回该记录，请修改后重新提交。" + (item.error ? "（" + item.error + "）" : "")); });
        });
      });
    });
    $(".js-draft-discard").addEventListener("click", function () {
      photos.queue(function () { return Q.drafts.remove(draftKey).then(resetForm).then(function () { show(banner, false); }); });
    });
    photos.queue(function () { return Q.drafts.get(draftKey).then(function (draft) {
      return Q.files.list(draftKey).then(function (files) {
        if (draft && (hasContent(draft) || files.length)) {
          restore(draft);
          $(".js-draft-text").textContent = "上次填写的检查记录（保存于 " + new Date(draft.saved).toLocaleString("zh-CN") + "，照片 " +
            files.length + " 张）已从本机恢复，可继续填写后提交；重复提交不会产生两条记录。";
          show(banner, true);
        }
        return photos.render();
      });
    }).catch(function () { say("warning", "此浏览器不能在本机保存草稿，请在有网络时提交。"); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
