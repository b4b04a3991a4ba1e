/* The beat map: beats of the user's jurisdiction as GeoJSON, coloured by a metric.
 * No request leaves the server: tiles only when the server configures a tile URL. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var t = config.text;
  var statusEl = document.getElementById("map-status");
  var select = document.getElementById("metric");
  var findForm = document.getElementById("find-form");
  var findResult = document.getElementById("find-result");
  // Sequential palette (light → dark blue); rule breaches read well on it too.
  var PALETTE = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
  var NEUTRAL = "#9fb3d1";

  // Fractional zoom lets fitBounds fill the frame with the jurisdiction instead of stopping
  // at the whole zoom level below (tiles, when configured, scale between levels).
  var map = L.map("map", { zoomControl: true, attributionControl: !!config.tileUrl,
                           preferCanvas: false, zoomSnap: 0.25, zoomDelta: 0.5 });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([39.13, 117.2], 11);

  var layer = null;
  var legend = null;
  var byId = {};
  var breaks = [];
  var fitted = false;

  // Every server-provided string that goes into HTML (innerHTML, Leaflet tooltips, popups and
  // controls all take HTML) passes through here: names are typed by people and imported from
  // files, and a beat named <img onerror=…> must read as text, not run.
  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function formatValue(v) {
    if (v === undefined || v === null) { return "—"; }
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }

  // Up to five classes over the distinct values (quantiles), so skewed data still shows.
  function computeBreaks(values) {
    var distinct = Array.from(new Set(values)).sort(function (a, b) { return a - b; });
    if (distinct.length <= PALETTE.length) { return distinct; }
    var out = [];
    for (var i = 0; i < PALETTE.length; i++) {
      out.push(distinct[Math.floor(i * distinct.length / PALETTE.length)]);
    }
    return out;
  }

  function colourFor(v) {
    if (!breaks.length || v === undefined) { return NEUTRAL; }
    var index = 0;
    for (var i = 0; i < breaks.length; i++) { if (v >= breaks[i]) { index = i; } }
    var offset = PALETTE.length - breaks.length;  // few classes: use the darker end
    return PALETTE[Math.min(PALETTE.length - 1, index + Math.max(0, offset))];
  }

  function drawLegend(metricLabel) {
    if (legend) { legend.remove(); legend = null; }
    if (!breaks.length) { return; }
    legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      var html = "<strong>" + escapeHtml(metricLabel) + "</strong><br>";
      for (var i = 0; i < breaks.length; i++) {
        var upper = i + 1 < breaks.length ? breaks[i + 1] : null;
        var label = formatValue(breaks[i]);
        if (upper !== null && upper - breaks[i] > 1) { label += " – " + formatValue(upper); }
        else if (upper === null && breaks.length === PALETTE.length) { label += "+"; }
        html += '<i style="background:' + colourFor(breaks[i]) + '"></i>' + escapeHtml(label) + "<br>";
      }
      div.innerHTML = html;
      return div;
    };
    legend.addTo(map);
  }

  function load() {
    var metric = select.value;
    var url = config.geojsonUrl + (metric ? "?metric=" + encodeURIComponent(metric) : "");
    statusEl.textContent = t.loading;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        byId = {};
        var values = [];
        data.features.forEach(function (f) {
          byId[f.properties.id] = f.properties;
          if (f.properties.value !== undefined) { values.push(f.properties.value); }
        });
        breaks = metric ? computeBreaks(values) : [];
        if (layer) { layer.remove(); }
        layer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#0b2f6b", weight: 1, fillOpacity: 0.65,
                     fillColor: colourFor(f.properties.value) };
          },
          onEachFeature: function (f, l) {
            // Leaflet inserts a string tooltip as HTML: escape the beat's name.
            var tip = escapeHtml(f.properties.name);
            if (f.properties.value !== undefined) { tip += ": " + escapeHtml(formatValue(f.properties.value)); }
            l.bindTooltip(tip, { sticky: true });
          }
        }).addTo(map);
        var label = select.options[select.selectedIndex].text;
        drawLegend(label);
        if (!data.features.length) { statusEl.textContent = t.noBeats; return; }
        if (!fitted) { map.fitBounds(layer.getBounds(), { padding: [12, 12] }); fitted = true; }
        statusEl.textContent = metric ? label : t.noMetric;
        document.getElementById("map").setAttribute("data-beats", String(data.features.length));
      })
      .catch(function () { statusEl.textContent = t.failed; });
  }

  function beatUrl(id) { return config.beatUrl.replace(/\/0\/$/, "/" + id + "/"); }

  function describe(data) {
    var props = byId[data.beat.id] || {};
    var html = "<strong>" + escapeHtml(data.beat.name) + "</strong> (" + escapeHtml(data.beat.code) + ")<br>" +
      escapeHtml(t.station) + ": " + escapeHtml(data.station.name) + "<br>";
    if (data.office) { html += escapeHtml(t.office) + ": " + escapeHtml(data.office.name) + " · " + escapeHtml(data.office.phone) + "<br>"; }
    if (props.value !== undefined) { html += escapeHtml(t.value) + ": " + escapeHtml(formatValue(props.value)) + "<br>"; }
    html += '<a href="' + escapeHtml(beatUrl(data.beat.id)) + '">' + escapeHtml(t.open) + " →</a>";
    return html;
  }

  function findAt(lat, lng) {
    var url = config.beatAtUrl + "?lat=" + encodeURIComponent(lat) + "&lng=" + encodeURIComponent(lng);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        var html = res.ok ? describe(res.body) : escapeHtml(res.body.detail || t.noBeat);
        findResult.innerHTML = html;
        if (isFinite(lat) && isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
          L.popup().setLatLng([lat, lng]).setContent(html).openOn(map);
        }
      })
      .catch(function () { findResult.textContent = t.failed; });
  }

  map.on("click", function (e) {
    var lat = e.latlng.lat.toFixed(6);
    var lng = e.latlng.lng.toFixed(6);
    document.getElementById("find-lat").value = lat;
    document.getElementById("find-lng").value = lng;
    findAt(Number(lat), Number(lng));
  });

  findForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var lat = document.getElementById("find-lat").value.trim();
    var lng = document.getElementById("find-lng").value.trim();
    if (!lat || !lng) { findResult.textContent = t.badPoint; return; }
    findAt(Number(lat), Number(lng));
  });

  select.addEventListener("change", function () {
    var url = new URL(window.location.href);
    if (select.value) { url.searchParams.set("metric", select.value); }
    else { url.searchParams.delete("metric"); }
    window.history.replaceState(null, "", url);
    load();
  });

  load();
})();
