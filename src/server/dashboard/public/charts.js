/* global window, document */
/**
 * Small inline-SVG charts for the dashboard: horizontal bars, a donut and a line chart over periods. Built with DOM calls, never
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


  /** The smallest of 1, 2 or 5 times a power of ten at or above `value`, for the top of an axis. */
  function niceCeiling(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  /**
   * series: [{ key, label, color, values }] over the same periods; labels: each period's name.
   * A legend on top, the periods along the bottom, a dot per value (its number in a tooltip).
   */
  function lineChart(series, labels, options) {
    const o = Object.assign({ width: 640, height: 230, summary: 'Line chart', format: String }, options || {});
    const top = 34;
    const bottom = 26;
    const left = 44;
    const right = 16;
    const summary = `${o.summary}: ${series.map((s) => `${s.label} ${s.values.map(o.format).join(', ')}`).join('; ')}`;
    const svg = svgRoot(o.width, o.height, summary);
    const max = niceCeiling(Math.max(0, ...series.flatMap((s) => s.values)));
    const plotW = o.width - left - right;
    const plotH = o.height - top - bottom;
    const x = (i) => left + (labels.length === 1 ? plotW / 2 : (i * plotW) / (labels.length - 1));
    const y = (v) => top + plotH - (v / max) * plotH;
    for (const tick of [0, max / 2, max]) {
      svg.appendChild(el('line', { x1: left, x2: o.width - right, y1: y(tick), y2: y(tick), class: 'grid-line' }));
      svg.appendChild(el('text', { x: left - 8, y: y(tick), 'text-anchor': 'end', 'dominant-baseline': 'central', class: 'axis-label' }, o.format(tick)));
    }
    // Every label when they fit side by side, else every n-th, counted back from the newest.
    const spacing = labels.length > 1 ? plotW / (labels.length - 1) : plotW;
    const widest = Math.max(...labels.map((l) => l.length)) * 7.2 + 10;
    const every = Math.max(1, Math.ceil(widest / spacing));
    labels.forEach((label, i) => {
      if ((labels.length - 1 - i) % every !== 0) return;
      // The first and last labels stay inside the chart.
      const anchor = labels.length > 1 && i === 0 ? 'start' : labels.length > 1 && i === labels.length - 1 ? 'end' : 'middle';
      svg.appendChild(el('text', { x: x(i), y: o.height - 6, 'text-anchor': anchor, class: 'axis-label', 'data-period': i }, label));
    });
    let legendX = left;
    for (const s of series) {
      const g = el('g', { class: 'legend', 'data-series': s.key });
      g.appendChild(el('rect', { x: legendX, y: 6, width: 12, height: 12, rx: 2, fill: s.color }));
      const text = el('text', { x: legendX + 18, y: 12, 'dominant-baseline': 'central', class: 'legend-label' }, s.label);
      g.appendChild(text);
      svg.appendChild(g);
      legendX += 30 + s.label.length * 8;
    }
    for (const s of series) {
      const g = el('g', { 'data-series': s.key });
      g.appendChild(el('polyline', { points: s.values.map((v, i) => `${x(i)},${y(v)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2.5, 'stroke-linejoin': 'round' }));
      s.values.forEach((v, i) => {
        const dot = el('circle', { cx: x(i), cy: y(v), r: 4, fill: s.color, 'data-value': v });
        dot.appendChild(el('title', {}, `${s.label}, ${labels[i]}: ${o.format(v)}`));
        g.appendChild(dot);
      });
      svg.appendChild(g);
    }
    return svg;
  }

  window.SmkCharts = { barChart, donut, meter, lineChart };
})();
