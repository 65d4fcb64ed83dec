// A small line chart of a metric across interviews, as inline SVG (no library).

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/**
 * A chart of `values` (numbers, oldest first; null gaps are skipped), `label` its text
 * alternative; an optional `band` {low, high} in the same unit is drawn as a shaded strip;
 * an optional `range` {min, max} fixes the vertical scale (for example 1 to 4 for rubric
 * scores). Scales to its container's width (viewBox 0 0 160 40).
 */
export function sparkline(values, label, band, range) {
  const w = 160;
  const h = 40;
  const pad = 4;
  const svg = svgEl('svg', { viewBox: `0 0 ${w} ${h}`, class: 'spark', role: 'img', 'aria-label': label });
  const pts = values.map((v, i) => [i, v]).filter(([, v]) => v !== null && v !== undefined && Number.isFinite(Number(v)));
  if (pts.length === 0) return svg;
  const all = pts.map(([, v]) => Number(v));
  if (band && band.low != null) all.push(band.low);
  if (band && band.high != null) all.push(band.high);
  if (range) all.push(range.min, range.max);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const x = (i) => (values.length === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (values.length - 1));
  const y = (v) => h - pad - ((v - lo) * (h - 2 * pad)) / (hi - lo);
  if (band && band.low != null && band.high != null) {
    svg.append(svgEl('rect', { x: 0, y: y(band.high), width: w, height: Math.max(1, y(band.low) - y(band.high)), class: 'spark-band' }));
  }
  svg.append(svgEl('polyline', { points: pts.map(([i, v]) => `${x(i).toFixed(1)},${y(Number(v)).toFixed(1)}`).join(' '), class: 'spark-line', fill: 'none' }));
  for (const [i, v] of pts) svg.append(svgEl('circle', { cx: x(i).toFixed(1), cy: y(Number(v)).toFixed(1), r: 2.5, class: 'spark-dot' }));
  return svg;
}
