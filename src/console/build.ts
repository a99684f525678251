import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The last step of `npm run build`: beside the console's compiled modules in dist/console/, its
// page and styles, and the chart library it imports (uPlot), so dist/ serves it all by itself.

const here = dirname(fileURLToPath(import.meta.url)); // dist/src/console
const root = join(here, '..', '..', '..');
const out = join(root, 'dist', 'console');
const uplot = dirname(createRequire(import.meta.url).resolve('uplot')); // node_modules/uplot/dist

mkdirSync(join(out, 'vendor'), { recursive: true });
cpSync(join(root, 'src', 'console', 'app', 'static'), out, { recursive: true });
cpSync(join(uplot, 'uPlot.esm.js'), join(out, 'vendor', 'uplot.js'));
cpSync(join(uplot, 'uPlot.min.css'), join(out, 'vendor', 'uplot.css'));
