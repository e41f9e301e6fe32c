/* OneGrid map functions for dash-leaflet, referenced from Python as {"variable": "onegridMap.x"}.
 *
 * The H3 layer's polygons are sent once per view; each live tick sends only
 * `hideout` = {v: [value per feature, in feature order], scale: [[stop, colour], ...],
 * max: number, label: text}. The style function looks a feature's value up by
 * its index (properties.i), so an update carries numbers only. 0 means no data
 * and is drawn transparent. Boundary layers read {visible, color, weight}.
 * Marker layers draw circle markers in the colour their hideout gives.
 */
window.onegridMap = (function () {
  function parse(c) {
    if (c.charAt(0) === "#") {
      return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16),
              parseInt(c.slice(5, 7), 16), 1];
    }
    var m = c.match(/rgba?\(([^)]+)\)/);
    var p = m ? m[1].split(",").map(Number) : [204, 204, 204, 1];
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  var cache = {};
  function stops(scale) {
    var key = JSON.stringify(scale);
    if (!cache[key]) { cache[key] = scale.map(function (s) { return [s[0], parse(s[1])]; }); }
    return cache[key];
  }
  // Colour of t in [0, 1] on a piecewise-linear scale; returns [css colour, alpha].
  function colour(scale, t) {
    var s = stops(scale);
    if (t <= s[0][0]) { return s[0][1]; }
    for (var i = 1; i < s.length; i++) {
      if (t <= s[i][0]) {
        var a = s[i - 1], b = s[i], span = (b[0] - a[0]) || 1, f = (t - a[0]) / span;
        return [0, 1, 2, 3].map(function (k) { return a[1][k] + f * (b[1][k] - a[1][k]); });
      }
    }
    return s[s.length - 1][1];
  }
  function css(c) {
    return "rgb(" + Math.round(c[0]) + "," + Math.round(c[1]) + "," + Math.round(c[2]) + ")";
  }
  return {
    hexStyle: function (feature, context) {
      var h = context.hideout || {};
      var v = (h.v || [])[feature.properties.i] || 0;
      // No data: invisible, but still there to be clicked (what grid is this?).
      if (!v) { return {stroke: false, fill: true, fillOpacity: 0}; }
      var c = colour(h.scale || [[0, "#ffffff"], [1, "#800026"]], Math.min(1, v / (h.max || 1)));
      return {fillColor: css(c), fillOpacity: 0.72 * c[3], color: "#ffffff", weight: 0.4,
              opacity: 0.8};
    },
    hexTooltip: function (feature, layer, context) {
      var h = context.hideout || {};
      var v = (h.v || [])[feature.properties.i] || 0;
      if (v) { layer.bindTooltip((h.label || "") + " " + Math.round(v * 100) / 100); }
    },
    boundaryStyle: function (feature, context) {
      var h = context.hideout || {};
      if (!h.visible) { return {stroke: false, fill: false}; }
      return {color: h.color || "#34495e", weight: h.weight || 1, fill: false, opacity: 0.9};
    },
    marker: function (feature, latlng, context) {
      var h = context.hideout || {};
      var m = L.circleMarker(latlng, {radius: h.radius || 6, color: "#ffffff", weight: 1,
                                       fillColor: h.color || "#c0392b", fillOpacity: 0.9});
      if (feature.properties && feature.properties.tooltip) {
        m.bindTooltip(feature.properties.tooltip);
      }
      return m;
    }
  };
})();
