/*
 * A tiny SVG bar chart for the operator console, served from the app (never a CDN). Hand-written
 * rather than a package: the console needs grouped bars over 30 days and nothing else, and this
 * builds SVG nodes with createElementNS/textContent only, so it runs under the console's CSP
 * (script-src 'self', no inline style) with no eval and no style attributes.
 *
 *   ConsoleChart.bars(container, labels, [{ name, values, className }], { format: fn })
 */
(function () {
  'use strict';

  var NS = 'http://www.w3.org/2000/svg';
  var W = 600;
  var H = 220;
  var PAD = { top: 12, right: 8, bottom: 26, left: 46 };

  function node(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, String(attrs[k]));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }

  /** 1, 2, 5 × 10^n: a round top for the axis. */
  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function bars(container, labels, series, opts) {
    opts = opts || {};
    var format =
      opts.format ||
      function (v) {
        return String(v);
      };
    while (container.firstChild) container.removeChild(container.firstChild);
    var max = 0;
    var min = 0;
    series.forEach(function (s) {
      s.values.forEach(function (v) {
        if (v > max) max = v;
        if (v < min) min = v;
      });
    });
    var top = niceMax(max);
    var bottom = min < 0 ? -niceMax(-min) : 0;
    var plotW = W - PAD.left - PAD.right;
    var plotH = H - PAD.top - PAD.bottom;
    var y = function (v) {
      return PAD.top + (plotH * (top - v)) / (top - bottom);
    };
    var svg = node('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart-svg', role: 'img', 'aria-label': opts.label || '' });

    [bottom, (top + bottom) / 2, top].forEach(function (t) {
      svg.appendChild(node('line', { x1: PAD.left, x2: W - PAD.right, y1: y(t), y2: y(t), class: 'chart-grid' }));
      svg.appendChild(node('text', { x: PAD.left - 6, y: y(t) + 4, class: 'chart-axis', 'text-anchor': 'end' }, format(t)));
    });
    if (bottom < 0) svg.appendChild(node('line', { x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0), class: 'chart-zero' }));

    var slot = plotW / Math.max(labels.length, 1);
    var barW = Math.max(1, (slot * 0.8) / series.length);
    labels.forEach(function (label, i) {
      series.forEach(function (s, j) {
        var v = s.values[i] || 0;
        var x = PAD.left + slot * i + slot * 0.1 + barW * j;
        var y0 = y(Math.max(v, 0));
        var rect = node('rect', {
          x: x,
          y: y0,
          width: barW,
          height: Math.max(Math.abs(y(0) - y(v)), v === 0 ? 0 : 1),
          class: 'chart-bar ' + (s.className || ''),
        });
        rect.appendChild(node('title', {}, label + ' ' + s.name + ': ' + format(v)));
        svg.appendChild(rect);
      });
      // Every 5th day and the last one: "MM-DD".
      if (i % 5 === 0 || i === labels.length - 1) {
        svg.appendChild(
          node('text', { x: PAD.left + slot * (i + 0.5), y: H - 8, class: 'chart-axis', 'text-anchor': 'middle' }, String(label).slice(5)),
        );
      }
    });
    container.appendChild(svg);

    var legend = document.createElement('div');
    legend.className = 'chart-legend';
    series.forEach(function (s) {
      var item = document.createElement('span');
      item.className = 'legend-item ' + (s.className || '');
      item.textContent = s.name;
      legend.appendChild(item);
    });
    container.appendChild(legend);
  }

  window.ConsoleChart = { bars: bars };
})();
