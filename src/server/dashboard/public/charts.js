/* global window, document */
/**
 * Small inline-SVG charts for the dashboard: horizontal bars and a donut. Built with DOM calls, never
 * innerHTML, because labels (sources, campaigns, reject reasons) are data typed by people in a CRM.
 * Every chart carries role="img" and a text summary; the numbers are also printed beside the shapes.
 */
(function () {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgRoot(width, height, summary) {
    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': summary, preserveAspectRatio: 'xMinYMin meet' });
    svg.appendChild(el('title', {}, summary));
    return svg;
  }

  /**
   * items: [{ key, label, value, note? }]; options: { width, barHeight, gap, labelWidth, color, format, summary, empty }
   * The note (e.g. a conversion rate) is printed after the value.
   */
  function barChart(items, options) {
    const o = Object.assign({ width: 640, barHeight: 26, gap: 10, labelWidth: 130, valueWidth: 170, color: '#2f6fde', format: String, summary: 'Bar chart', empty: 'Nothing yet' }, options || {});
    if (items.length === 0) {
      const svg = svgRoot(o.width, 40, `${o.summary}: ${o.empty}`);
      svg.appendChild(el('text', { x: 0, y: 24, class: 'chart-empty' }, o.empty));
      return svg;
    }
    const height = items.length * (o.barHeight + o.gap);
    const summary = `${o.summary}: ${items.map((i) => `${i.label} ${o.format(i.value)}${i.note ? ` (${i.note})` : ''}`).join(', ')}`;
    const svg = svgRoot(o.width, height, summary);
    const max = Math.max(1, ...items.map((i) => i.value));
    const barSpace = o.width - o.labelWidth - o.valueWidth;
    items.forEach((item, index) => {
      const y = index * (o.barHeight + o.gap);
      const w = Math.max(item.value > 0 ? 2 : 0, Math.round((item.value / max) * barSpace));
      const g = el('g', { 'data-key': item.key });
      g.appendChild(el('text', { x: o.labelWidth - 10, y: y + o.barHeight / 2, class: 'bar-label', 'text-anchor': 'end', 'dominant-baseline': 'central' }, item.label));
      g.appendChild(el('rect', { x: o.labelWidth, y, width: barSpace, height: o.barHeight, rx: 4, class: 'bar-track' }));
      g.appendChild(el('rect', { x: o.labelWidth, y, width: w, height: o.barHeight, rx: 4, fill: item.color || o.color, class: 'bar' }));
      const value = el('text', { x: o.labelWidth + w + 8, y: y + o.barHeight / 2, class: 'bar-value', 'dominant-baseline': 'central', 'data-value': item.key });
      value.appendChild(el('tspan', { class: 'bar-count' }, o.format(item.value)));
      if (item.note) value.appendChild(el('tspan', { class: 'bar-note', dx: 8 }, item.note));
      g.appendChild(value);
      svg.appendChild(g);
    });
    return svg;
  }

  /** segments: [{ key, label, value, color }]; centre: { big, small } text in the hole. */
  function donut(segments, options) {
    const o = Object.assign({ size: 180, thickness: 30, summary: 'Donut chart', centre: { big: '', small: '' } }, options || {});
    const total = segments.reduce((sum, s) => sum + s.value, 0);
    const summary = `${o.summary}: ${segments.map((s) => `${s.label} ${s.value}`).join(', ')}`;
    const svg = svgRoot(o.size, o.size, summary);
    const r = (o.size - o.thickness) / 2;
    const c = o.size / 2;
    const circumference = 2 * Math.PI * r;
    svg.appendChild(el('circle', { cx: c, cy: c, r, fill: 'none', class: 'donut-track', 'stroke-width': o.thickness }));
    let offset = 0;
    if (total > 0) {
      for (const s of segments) {
        if (s.value <= 0) continue;
        const length = (s.value / total) * circumference;
        // Drawn as dashed circles starting at 12 o'clock; each segment starts where the last ended.
        svg.appendChild(el('circle', {
          cx: c, cy: c, r, fill: 'none', stroke: s.color, 'stroke-width': o.thickness,
          'stroke-dasharray': `${length} ${circumference - length}`, 'stroke-dashoffset': -offset,
          transform: `rotate(-90 ${c} ${c})`, 'data-segment': s.key,
        }));
        offset += length;
      }
    }
    svg.appendChild(el('text', { x: c, y: c - 4, 'text-anchor': 'middle', class: 'donut-big' }, o.centre.big));
    svg.appendChild(el('text', { x: c, y: c + 18, 'text-anchor': 'middle', class: 'donut-small' }, o.centre.small));
    return svg;
  }

  /** A thin horizontal meter (API budget used). */
  function meter(fraction, options) {
    const o = Object.assign({ width: 240, height: 12, summary: 'Meter' }, options || {});
    const f = Math.max(0, Math.min(1, fraction));
    const svg = svgRoot(o.width, o.height, o.summary);
    svg.appendChild(el('rect', { x: 0, y: 0, width: o.width, height: o.height, rx: o.height / 2, class: 'bar-track' }));
    const color = f >= 0.9 ? '#b42318' : f >= 0.7 ? '#a15c07' : '#1f7a3d';
    svg.appendChild(el('rect', { x: 0, y: 0, width: Math.max(f > 0 ? 3 : 0, Math.round(f * o.width)), height: o.height, rx: o.height / 2, fill: color }));
    return svg;
  }

  window.SmkCharts = { barChart, donut, meter };
})();
