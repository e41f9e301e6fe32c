/* Station markers of the environment page for dash-leaflet: {"variable": "onegridEnv.station"}.
 *
 * The points are sent once; each step sends only the layer's `hideout` =
 * {label: [...], colour: [...], ink: [...], tooltip: [...]}, one entry per station
 * in feature order (properties.i), and dash-leaflet redraws the markers from it.
 * Each station is a dot at its place and, just above it, a small badge showing its
 * value in its AQI category's colour, so the map reads without hovering and the
 * station's H3 cell under the dot stays in sight; the tooltip adds its name.
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
  }
};
