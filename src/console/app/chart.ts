import type UPlot from 'uplot';
import { h } from './dom.js';
import uPlot from './vendor/uplot.js';

// Counts over time as a line chart (uPlot, bundled), with the same numbers as a table for screen
// readers and for copying.

export interface Series {
  label: string;
  /** `date`: a UTC day (YYYY-MM-DD) or an ISO instant. */
  points: Array<{ date: string; count: number }>;
}

export function lineChart(title: string, series: Series): HTMLElement {
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  const plot = h('div', { class: 'chart-plot', role: 'img', 'aria-label': `${title}: ${describe(series)}` });
  figure.appendChild(plot);
  figure.appendChild(
    h(
      'details',
      {},
      h('summary', {}, 'The numbers'),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, series.label))), h('tbody', {}, series.points.map((p) => h('tr', {}, h('td', {}, p.date), h('td', {}, p.count))))),
    ),
  );
  const options: UPlot.Options = {
    width: 720,
    height: 220,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
    axes: [{ stroke: '#1f2933' }, { stroke: '#1f2933' }],
    series: [{}, { label: series.label, stroke: '#0b5cad', width: 2, fill: 'rgba(11, 92, 173, 0.12)' }],
    legend: { show: false },
  };
  // A day (YYYY-MM-DD) is drawn at its noon; an instant (an hour) as it is.
  const data: UPlot.AlignedData = [series.points.map((p) => Date.parse(p.date.length === 10 ? `${p.date}T12:00:00Z` : p.date) / 1000), series.points.map((p) => p.count)];
  // Drawn once the figure is in the page, so uPlot can measure it.
  requestAnimationFrame(() => new uPlot(options, data, plot));
  return figure;
}

function describe(series: Series): string {
  const first = series.points[0];
  const last = series.points[series.points.length - 1];
  if (!first || !last) return 'no data';
  return `${series.label} ${first.count} on ${first.date}, ${last.count} on ${last.date}`;
}
