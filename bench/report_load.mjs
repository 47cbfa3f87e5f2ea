// report_load.mjs - how fast a waitchain HTML report opens and pans in
// headless Chromium.
//
//   node bench/report_load.mjs REPORT.html [--runs N] [--json]
//
// Needs Debian's chromium (/usr/bin/chromium, or WC_CHROMIUM) and the npm
// packages of tests/browser (npm ci --prefix tests/browser).  Each run uses
// a fresh browser profile and a cold page load from disk.  Prints, per run
// and as the median over runs:
//   load_ms    navigation start -> first timeline frame drawn (what a user
//              waits for: read and parse the HTML, JSON.parse, decode,
//              tables, first canvas frame; report.js mark wc-first-frame)
//   parse_ms   navigation start -> data block parsed (report.js mark)
//   decode_ms  data parsed -> interval/chain streams decoded
//   ready_ms   navigation start -> page built (tables, lanes)
//   frame_ms   mean / max time of one timeline frame while panning and
//              zooming (40 frames: zoomed out, then 4x, 64x, 1024x)
// plus the file size and the number of intervals in the report.
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const { chromium } = await import(new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url));

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
const asJson = args.includes('--json');
if (!file) {
  console.error('usage: node bench/report_load.mjs REPORT.html [--runs N] [--json]');
  process.exit(2);
}
const url = 'file://' + resolve(file);
const size = statSync(file).size;

async function once() {
  const profile = mkdtempSync(join(tmpdir(), 'wc-bench-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.WC_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 900 },
  });
  try {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { timeout: 120000 });
    await page.waitForFunction(() => window.waitchainReport && window.waitchainReport.drawTimes().length > 0,
                               null, { timeout: 120000 });
    const t = await page.evaluate(() => {
      const m = (n) => { const e = performance.getEntriesByName(n)[0]; return e ? e.startTime : NaN; };
      const R = window.waitchainReport;
      return { parse: m('wc-parsed'), decoded: m('wc-decoded'), ready: m('wc-ready'),
               first: m('wc-first-frame'), intervals: R.intervals() };
    });
    const load = t.first;
    // pan/zoom frames
    const frames = await page.evaluate(async () => {
      const R = window.waitchainReport, v = R.view(), out = [];
      const frame = () => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      for (const zoom of [1, 4, 64, 1024]) {
        const w = v.span / zoom;
        for (let i = 0; i < 10; i++) {
          const t0 = (v.span - w) * (i / 10);
          R.setView(t0, t0 + w);
          await frame();
          const d = R.drawTimes();
          out.push(d[d.length - 1]);
        }
      }
      return out;
    });
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    return {
      load_ms: load, parse_ms: t.parse, decode_ms: t.decoded - t.parse, ready_ms: t.ready,
      frame_mean_ms: frames.reduce((a, b) => a + b, 0) / frames.length, frame_max_ms: Math.max(...frames),
      intervals: t.intervals,
    };
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const med = (k) => { const v = results.map((r) => r[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
const summary = {
  file, size_bytes: size, intervals: results[0].intervals, runs,
  load_ms: med('load_ms'), parse_ms: med('parse_ms'), decode_ms: med('decode_ms'), ready_ms: med('ready_ms'),
  frame_mean_ms: med('frame_mean_ms'), frame_max_ms: med('frame_max_ms'),
};
if (asJson) {
  console.log(JSON.stringify({ summary, runs: results }));
} else {
  const f = (x) => x.toFixed(1);
  results.forEach((r, i) => console.log(`run ${i + 1}: load ${f(r.load_ms)} ms (parse ${f(r.parse_ms)}, decode ${f(r.decode_ms)}, ready ${f(r.ready_ms)}), frame mean ${f(r.frame_mean_ms)} ms max ${f(r.frame_max_ms)} ms`));
  console.log(`report_load: ${file}: ${(size / 1048576).toFixed(1)} MiB, ${summary.intervals} intervals, ` +
              `load ${f(summary.load_ms)} ms median of ${runs} (parse ${f(summary.parse_ms)}, decode ${f(summary.decode_ms)}, ` +
              `ready ${f(summary.ready_ms)}), pan/zoom frame mean ${f(summary.frame_mean_ms)} ms, max ${f(summary.frame_max_ms)} ms`);
}
