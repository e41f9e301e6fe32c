/* Environment page layers for dash-leaflet: {"variable": "onegridEnv.<name>"}.
 *
 * station: the station markers. The points are sent once; each step sends only the
 * layer's `hideout` = {label: [...], colour: [...], ink: [...], tooltip: [...]}, one
 * entry per station in feature order (properties.i), and dash-leaflet redraws the
 * markers from it. Each station is a dot at its place and, just above it, a small
 * badge showing its value in its AQI category's colour, so the map reads without
 * hovering and the station's H3 cell under the dot stays in sight.
 *
 * estimateStyle / estimateTip: the estimated cells between the stations. Their
 * polygons go once; each step sends hideout = {show, level: [0-6 per feature],
 * v: [index per feature], palette: [colour per level], names: [...], label}. They are
 * drawn unlike measured cells on purpose: a lighter fill and a dashed outline, so an
 * estimate never passes for a measurement; level 0 (no estimate) is left empty.
 *
 * source: the pollution sources, a small square per source in its category's colour
 * (properties.colour); hideout = {rank: {source_id: n}} rings and numbers the upwind
 * candidates of the picked episode. focus: a ring around the picked episode's station.
 */
window.onegridEnv = {
  station: function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var i = (feature.properties || {}).i;
    function at(key, fallback) { return (h[key] && h[key][i] !== undefined) ? h[key][i] : fallback; }
    var dot = '<div style="position:absolute;left:-4px;top:-4px;width:8px;height:8px;' +
      'border-radius:50%;background:#1f3a5f;border:1px solid #fff"></div>';
    var badge = '<div class="og-station-badge" style="position:absolute;bottom:6px;left:0;' +
      "transform:translateX(-50%);background:" + at("colour", "#b8c2cc") + ";color:" +
      at("ink", "#1c2733") + ";border:1px solid #1f3a5f;border-radius:8px;padding:0 5px;" +
      'font:600 11px/15px sans-serif;white-space:nowrap">' + at("label", "—") + "</div>";
    var marker = L.marker(latlng, {
      icon: L.divIcon({className: "og-station", html: dot + badge, iconSize: [0, 0]}),
      keyboard: false, riseOnHover: true
    });
    var tip = at("tooltip", "");
    if (tip) { marker.bindTooltip(tip, {direction: "top", offset: [0, -22]}); }
    return marker;
  },
  estimateStyle: function (feature, context) {
    var h = (context && context.hideout) || {};
    var level = (h.level || [])[feature.properties.i] || 0;
    if (!h.show || !level) { return {stroke: false, fill: false}; }
    return {fillColor: (h.palette || [])[level] || "#b8c2cc", fillOpacity: 0.3,
            color: "#3d4b5c", weight: 1, opacity: 0.55, dashArray: "4 3"};
  },
  estimateTip: function (feature, layer, context) {
    var h = (context && context.hideout) || {};
    var i = feature.properties.i, level = (h.level || [])[i] || 0;
    if (h.show && level) {
      layer.bindTooltip((h.label || "") + " " + (h.v || [])[i] + " · " + (h.names || [])[level]);
    }
  },
  source: function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var p = feature.properties || {};
    var rank = (h.rank || {})[p.id];
    var size = rank ? 14 : 9;
    var box = '<div class="og-source' + (rank ? " og-candidate" : "") + '" style="position:' +
      "absolute;left:" + (-size / 2) + "px;top:" + (-size / 2) + "px;width:" + size +
      "px;height:" + size + "px;background:" + (p.colour || "#6c3483") + ";border:" +
      (rank ? "2px solid #c0392b" : "1px solid #ffffff") + ";transform:rotate(45deg)" +
      '"></div>';
    var label = rank ? '<div style="position:absolute;left:9px;top:-9px;font:700 12px/14px ' +
      'sans-serif;color:#c0392b;text-shadow:0 0 2px #fff">' + rank + "</div>" : "";
    var marker = L.marker(latlng, {
      icon: L.divIcon({className: "og-source-icon", html: box + label, iconSize: [0, 0]}),
      keyboard: false, riseOnHover: true, zIndexOffset: rank ? 1000 : 0
    });
    if (p.tooltip) { marker.bindTooltip(p.tooltip, {direction: "top", offset: [0, -8]}); }
    return marker;
  },
  focus: function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 16, color: "#c0392b", weight: 3, fill: false,
                                   dashArray: "5 3", interactive: false});
  }
};
