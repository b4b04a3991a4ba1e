/* Safe Community field work: the offline visit queue.
 *
 * The visit form never posts straight to the server: each visit gets a client id
 * (client_uuid), goes into an IndexedDB queue on the phone, and is sent to the API's
 * idempotent endpoint whenever the network is there (now, when the browser comes back online,
 * when the page opens). A visit leaves the queue only when the server has answered with it
 * (201 new, 200 already stored), so sending one twice — two tabs, a retry after a lost answer,
 * two sync runs at once — still makes one record: the server keys visits by client_uuid.
 * Refused visits (400/404) stay listed with the server's reason until discarded.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if ("serviceWorker" in navigator && script && script.dataset.sw) {
    navigator.serviceWorker.register(script.dataset.sw, { scope: script.dataset.scope })
      .catch(function () { /* no offline shell; the form still works online */ });
  }

  // What findings open: show the fields of the chosen kind only.
  document.querySelectorAll("form").forEach(function (form) {
    var select = form.querySelector("[name=open_as]");
    if (!select) return;
    var toggle = function () {
      form.querySelectorAll(".fw-open").forEach(function (el) {
        el.hidden = el.dataset.open !== select.value;
      });
    };
    select.addEventListener("change", toggle);
    toggle();
  });

  // Patrols: record the route from the phone's GPS into the GeoJSON field.
  document.querySelectorAll("form.fw-log-form textarea[name=route]").forEach(function (route) {
    var owner = route.form;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn secondary fw-gps";
    button.textContent = owner.dataset.gpsStart;
    route.insertAdjacentElement("afterend", button);
    var watch = null;
    var points = [];
    button.addEventListener("click", function () {
      if (watch !== null) {
        navigator.geolocation.clearWatch(watch);
        watch = null;
        button.textContent = owner.dataset.gpsStart;
        return;
      }
      if (!navigator.geolocation) {
        button.textContent = owner.dataset.gpsNone;
        return;
      }
      points = [];
      var started = owner.querySelector("[name=started_at]");
      if (started) {
        var now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
        started.value = now.toISOString().slice(0, 16);
      }
      button.textContent = owner.dataset.gpsStop;
      watch = navigator.geolocation.watchPosition(function (position) {
        var point = [
          Math.round(position.coords.longitude * 1e6) / 1e6,
          Math.round(position.coords.latitude * 1e6) / 1e6,
        ];
        var last = points[points.length - 1];
        if (!last || last[0] !== point[0] || last[1] !== point[1]) points.push(point);
        route.value = JSON.stringify({ type: "LineString", coordinates: points });
        var ended = owner.querySelector("[name=ended_at]");
        if (ended) {
          var now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
          ended.value = now.toISOString().slice(0, 16);
        }
      }, function () { button.textContent = owner.dataset.gpsNone; }, { enableHighAccuracy: true });
    });
  });

  var form = document.getElementById("visit-form");
  if (!form || !window.indexedDB) return;
  var statusEl = document.getElementById("fw-status");
  var queueEl = document.getElementById("fw-queue");
  var saved = [];
  var DB_NAME = "safecommunity-fieldwork";
  // The required attribute of each request kind offered (fieldwork.forms.REQUEST_ATTRIBUTES).
  var REQUEST_ATTRIBUTES = {
    elderly: { need: "other" },
    noise: { noise_source: "other" },
    illegal_structure: { structure_kind: "other" },
  };
  var STORE = "visits";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "client_uuid" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var queue = {
    put: function (entry) { return withStore("readwrite", function (s) { return s.put(entry); }); },
    all: function () { return withStore("readonly", function (s) { return s.getAll(); }); },
    remove: function (key) { return withStore("readwrite", function (s) { return s.delete(key); }); },
  };

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  function csrfToken() {
    // The cookie is current even when the page came from the offline cache.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function payloadOf(data) {
    var value = function (name) { return (data.get(name) || "").toString().trim(); };
    var payload = {
      client_uuid: newUuid(),
      dwelling_id: Number(value("dwelling")),
      outcome: value("outcome"),
      visited_at: value("visited_at") || null,
      residents_confirmed: data.get("residents_confirmed") === "on",
      findings: value("findings"),
      moved_out: data.getAll("moved_out").map(Number),
      new_residents: [],
      campaign_id: value("campaign") ? Number(value("campaign")) : null,
    };
    if (value("new_name")) {
      payload.new_residents.push({
        name: value("new_name"),
        id_number: value("new_id_number") || null,
        gender: value("new_gender") || null,
        birth_date: value("new_birth_date") || null,
        phone: value("new_phone") || null,
        relation: value("new_relation") || "other",
        registered: data.get("new_registered") === "on",
      });
    }
    var open = value("open_as");
    if (open) {
      var code = open === "dispute" ? value("category") : open === "request" ? value("service_code") : "";
      var attributes = open === "hazard" ? { hazard_kind: value("hazard_kind") }
        : (REQUEST_ATTRIBUTES[code] || {});
      payload.open_as = { kind: open, code: code, risk: value("risk") || "low", attributes: attributes };
    }
    return payload;
  }

  function reasonOf(body) {
    if (!body) return "";
    if (body.errors) {
      return Object.keys(body.errors).map(function (k) { return body.errors[k].join(" "); }).join(" ");
    }
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map(function (d) { return (d.loc || []).slice(-1)[0] + ": " + d.msg; }).join("; ");
    }
    return "";
  }

  function send(entry) {
    return fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(entry.payload),
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) {
        return response.json().then(function (visit) {
          if (!saved.some(function (s) { return s.id === visit.id; })) {
            saved.push({ id: visit.id, address: entry.address });
          }
          return queue.remove(entry.client_uuid);
        });
      }
      if ([400, 404, 422].indexOf(response.status) >= 0) {
        // Refused for good: keep it visible with the reason until discarded.
        return response.json().catch(function () { return null; }).then(function (body) {
          entry.failed = reasonOf(body) || String(response.status);
          return queue.put(entry);
        });
      }
      // Logged out, a stale CSRF token, a server error: keep it and try again later.
      return undefined;
    });
  }

  function sync() {
    return queue.all().then(function (entries) {
      var waiting = entries.filter(function (e) { return !e.failed; });
      if (!navigator.onLine || !waiting.length) return undefined;
      return waiting.reduce(function (chain, entry) {
        return chain.then(function () { return send(entry); });
      }, Promise.resolve()).catch(function () { /* offline again: the rest waits */ });
    }).then(render, render);
  }

  function render() {
    return queue.all().then(function (entries) {
      var d = statusEl.dataset;
      statusEl.textContent = navigator.onLine ? d.online : d.offline;
      statusEl.classList.toggle("offline", !navigator.onLine);
      queueEl.textContent = "";
      entries.forEach(function (entry) {
        var li = document.createElement("li");
        li.className = entry.failed ? "failed" : "queued";
        li.dataset.uuid = entry.client_uuid;
        li.textContent = (entry.failed ? d.failed + ": " + entry.failed : d.queued) + " " + entry.address;
        if (entry.failed) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = d.discard;
          button.addEventListener("click", function () { queue.remove(entry.client_uuid).then(render); });
          li.appendChild(button);
        }
        queueEl.appendChild(li);
      });
      saved.forEach(function (s) {
        var li = document.createElement("li");
        li.className = "sent";
        var link = document.createElement("a");
        link.href = form.dataset.list + s.id + "/";
        link.textContent = s.address;
        li.appendChild(document.createTextNode(d.saved + " "));
        li.appendChild(link);
        queueEl.appendChild(li);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    if (!data.get("dwelling")) {
      form.querySelector("[name=dwelling]").focus();
      return;
    }
    var select = form.querySelector("select[name=dwelling]");
    var address = select ? select.options[select.selectedIndex].text
      : (form.querySelector(".fw-dwelling") || {}).textContent || "";
    var payload = payloadOf(data);
    queue.put({
      client_uuid: payload.client_uuid,
      payload: payload,
      address: address.trim(),
      queued_at: new Date().toISOString(),
    }).then(function () {
      if (!navigator.onLine) statusEl.textContent = statusEl.dataset.kept;
      form.querySelectorAll("[name=findings], [name=new_name], [name=new_id_number], [name=new_phone]")
        .forEach(function (el) { el.value = ""; });
      form.querySelectorAll("[name=moved_out], [name=residents_confirmed]")
        .forEach(function (el) { el.checked = false; });
      return render();
    }).then(sync);
  });

  window.addEventListener("online", sync);
  window.addEventListener("offline", render);
  // For tests and for a "send now" button: run the sync (safe to call any number of times).
  window.fieldworkSync = sync;
  render().then(sync);
}());
