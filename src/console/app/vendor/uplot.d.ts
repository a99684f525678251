// uPlot (a small canvas chart library), copied beside the console's modules at build time from
// node_modules/uplot/dist/uPlot.esm.js: the console loads nothing from elsewhere.
import type UPlot from 'uplot';

declare const uPlot: typeof UPlot;
export default uPlot;
