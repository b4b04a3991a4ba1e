/* The resident's request form: show the chosen kind's questions, and choose the place on a
 * map of the beats (drawn on a blank background unless the server configures tiles; no
 * request leaves the server). Without JavaScript the form still works: every kind's questions
 * show, and latitude/longitude or the address are typed. */
(function () {
  "use strict";
  var configEl = document.getElementById("sr-map-config");
  if (!configEl) { return; }
  var config = JSON.parse(configEl.textContent);
  var select = document.querySelector("#sr-form select[name=service]");
  var sets = document.querySelectorAll(".sr-attributes");
  var latInput = document.querySelector("#sr-form input[name=lat]");
  var lngInput = document.querySelector("#sr-form input[name=lng]");
  var statusEl = document.getElementById("sr-map-status");

  function showAttributes() {
    sets.forEach(function (set) {
      var on = set.getAttribute("data-service") === select.value;
      set.hidden = !on;
      // Hidden questions are not sent: only the chosen kind's answers are checked.
      set.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !on; });
    });
  }
  if (select) { select.addEventListener("change", showAttributes); showAttributes(); }

  if (typeof L === "undefined") { return; }
  var map = L.map("sr-map", { zoomSnap: 0.25, zoomDelta: 0.5, attributionControl: !!config.tileUrl });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([39.13, 117.2], 11);
  var marker = null;

  function choose(lat, lng) {
    latInput.value = lat.toFixed(6);
    lngInput.value = lng.toFixed(6);
    if (marker) { marker.setLatLng([lat, lng]); }
    else { marker = L.circleMarker([lat, lng], { radius: 8, color: "#b42318", weight: 3 }).addTo(map); }
    statusEl.textContent = config.text.chosen.replace("%(lat)s", latInput.value).replace("%(lng)s", lngInput.value);
  }

  fetch(config.geojsonUrl, { headers: { Accept: "application/geo+json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function () { return { color: "#0b2f6b", weight: 1, fillOpacity: 0.15, fillColor: "#9fb3d1" }; },
        onEachFeature: function (f, l) {
          l.bindTooltip(String(f.properties.name).replace(/[&<>"']/g, function (c) {
            return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
          }), { sticky: true });
          l.on("click", function (e) { choose(e.latlng.lat, e.latlng.lng); });
        }
      }).addTo(map);
      if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [8, 8] }); }
      document.getElementById("sr-map").setAttribute("data-beats", String(data.features.length));
    })
    .catch(function () { statusEl.textContent = config.text.failed; });

  map.on("click", function (e) { choose(e.latlng.lat, e.latlng.lng); });
  var lat = parseFloat(latInput.value), lng = parseFloat(lngInput.value);
  if (isFinite(lat) && isFinite(lng)) { choose(lat, lng); }
})();
