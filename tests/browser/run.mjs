// run.mjs - opens a waitchain HTML report in headless Chromium and checks it.
//
//   node tests/browser/run.mjs REPORT.html EXPECT.json [SCREENSHOT.png]
//
// EXPECT.json is written by the Criterion wrapper (tests/cli/test_browser.c)
// from the case database with its own SQL, independent of the report code:
//
//   { "lock_uaddr": "0x...",            global mutex address (global_lock)
//     "nblocks": N,                      vCPU blocks on it
//     "vcpus": [{ "tid", "running_ns", "preempted_ns", "woken_ns",
//                 "global_ns", "other_blocked_ns", "global_blocks",
//                 "p50_ns", "p95_ns", "p99_ns", "max_ns",
//                 "uncertain_global_blocks" }],
//     "nuncertain": N,                   vCPU blocks on a global mutex marked uncertain
//     "block": { "id", "tid", "uncertain", "holders": [tid, ...],
//                "chain": [{ "depth", "tid", "state" }, ...] } | null,
//     "names": ["literal thread names that must appear as text", ...],
//     "lanes_min": N }                   at least this many lanes
//
// Checks: no console errors, no network requests, no injected code ran;
// the verdict and the vCPU table match EXPECT; the decoded intervals sum
// to the table's numbers; the canvas has drawn lanes; clicking the block
// shows its holders and chain; zooming (keys, wheel, drag) changes the
// visible range.  Prints one line per check; exit status 0 = all passed.
// Chromium: Debian's /usr/bin/chromium (WC_CHROMIUM overrides), driven by
// playwright-core without its bundled browsers.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [reportArg, expectArg, shotArg] = process.argv.slice(2);
if (!reportArg || !expectArg) {
  console.error('usage: node run.mjs REPORT.html EXPECT.json [SCREENSHOT.png]');
  process.exit(2);
}
const expect = JSON.parse(readFileSync(expectArg, 'utf8'));
const url = 'file://' + resolve(reportArg);
let failures = 0;
function check(ok, what, detail) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what + (ok || detail === undefined ? '' : ': ' + detail));
  if (!ok) failures++;
}

const profile = mkdtempSync(join(tmpdir(), 'wc-chromium-'));
// a fresh profile directory (--user-data-dir) per run
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.WC_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1366, height: 900 },
});
try {
  const page = await browser.newPage();
  const errors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.type() + ': ' + m.text()); });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('dialog', (d) => { errors.push('dialog: ' + d.message()); d.dismiss(); });
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });

  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });

  // --- layout: nothing wider than a laptop screen ------------------------
  for (const width of [1366, 1024]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(50);
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    check(sw <= width, 'no horizontal overflow at ' + width + ' px', sw);
  }
  await page.setViewportSize({ width: 1366, height: 900 });

  // --- verdict ---------------------------------------------------------
  const verdict = await page.textContent('#verdict');
  check(verdict.includes(expect.lock_uaddr), 'verdict names the global mutex ' + expect.lock_uaddr, verdict);
  check(verdict.includes(String(expect.nblocks) + ' blocks'), 'verdict gives ' + expect.nblocks + ' blocks', verdict);

  // --- vCPU table ------------------------------------------------------
  const table = await page.evaluate(() => {
    const rows = {};
    document.querySelectorAll('#vcpu-table tbody tr[data-tid]').forEach((tr) => {
      const r = {};
      tr.querySelectorAll('td[data-key]').forEach((td) => { r[td.getAttribute('data-key')] = Number(td.getAttribute('data-value')); });
      rows[tr.getAttribute('data-tid')] = r;
    });
    return rows;
  });
  check(Object.keys(table).length === expect.vcpus.length, 'vCPU table has ' + expect.vcpus.length + ' rows',
        Object.keys(table).length);
  for (const v of expect.vcpus) {
    const row = table[String(v.tid)];
    if (!row) { check(false, 'vCPU row for tid ' + v.tid); continue; }
    const bad = Object.keys(v).filter((k) => k !== 'tid' && row[k] !== v[k]);
    check(bad.length === 0, 'vCPU row tid ' + v.tid + ' matches the database',
          bad.map((k) => k + ' ' + row[k] + ' != ' + v[k]).join(', '));
  }

  // --- uncertain blocks: counted in the table, drawn outlined ------------
  if (expect.nuncertain !== undefined) {
    const unc = await page.evaluate(() => window.waitchainReport.uncertainVcpuBlocks());
    check(unc === expect.nuncertain, 'the timeline marks ' + expect.nuncertain + ' uncertain vCPU blocks', unc);
    const sum = Object.values(table).reduce((a, r) => a + (r.uncertain_global_blocks || 0), 0);
    check(sum === expect.nuncertain, 'the vCPU table counts ' + expect.nuncertain + ' uncertain blocks', sum);
    const legend = await page.evaluate(() => document.getElementById('legend').textContent);
    check(legend.includes('uncertain block'), 'the legend explains uncertain marks', legend);
  }

  // --- decoded intervals agree with the database ------------------------
  const stats = await page.evaluate(() => {
    const R = window.waitchainReport;
    return R.lanes().map((l, i) => ({ tid: l.tid, kind: l.kind, s: R.laneStats(i) }));
  });
  check(stats.length >= (expect.lanes_min || 1), 'at least ' + (expect.lanes_min || 1) + ' timeline lanes', stats.length);
  for (const v of expect.vcpus) {
    const l = stats.find((x) => x.tid === v.tid && x.kind === 'vcpu');
    if (!l) { check(false, 'lane for vCPU tid ' + v.tid); continue; }
    const got = { running_ns: l.s.running || 0, preempted_ns: l.s.preempted || 0, woken_ns: l.s.runnable || 0,
                  global_ns: l.s.global || 0,
                  other_blocked_ns: (l.s.futex || 0) + (l.s.io || 0) + (l.s.sleeping || 0) };
    const bad = Object.keys(got).filter((k) => got[k] !== v[k]);
    check(bad.length === 0, 'decoded intervals of tid ' + v.tid + ' sum to the database times',
          bad.map((k) => k + ' ' + got[k] + ' != ' + v[k]).join(', '));
  }

  // --- canvas drawn ----------------------------------------------------
  const painted = await page.evaluate(() => {
    const c = document.getElementById('canvas'), g = c.getContext('2d');
    const d = g.getImageData(0, Math.round(26 * (window.devicePixelRatio || 1)), c.width, c.height - 26).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
    return { n, total: d.length / 4 };
  });
  check(painted.n > painted.total * 0.05, 'canvas lanes are drawn', painted.n + ' of ' + painted.total + ' pixels');

  // --- zoom: keys, wheel, drag-select ----------------------------------
  await page.locator('#canvas').scrollIntoViewIfNeeded();
  const v0 = await page.evaluate(() => window.waitchainReport.view());
  await page.focus('#timeline');
  await page.keyboard.press('+');
  const v1 = await page.evaluate(() => window.waitchainReport.view());
  check(Math.abs((v1.t1 - v1.t0) - (v0.t1 - v0.t0) / 2) < 2, "key '+' halves the visible range",
        JSON.stringify([v0, v1]));
  await page.keyboard.press('ArrowRight');
  const v2 = await page.evaluate(() => window.waitchainReport.view());
  check(v2.t0 > v1.t0, 'ArrowRight pans later', JSON.stringify([v1, v2]));
  await page.keyboard.press('0');
  const box = await page.locator('#canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + 40);
  await page.mouse.wheel(0, -400);
  await page.waitForTimeout(50);
  const v3 = await page.evaluate(() => window.waitchainReport.view());
  check(v3.t1 - v3.t0 < v0.t1 - v0.t0, 'wheel zooms in', JSON.stringify(v3));
  await page.keyboard.press('0');
  await page.mouse.move(box.x + box.width * 0.25, box.y + 40);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.35, box.y + 40, { steps: 4 });
  await page.mouse.up();
  const v4 = await page.evaluate(() => window.waitchainReport.view());
  const want0 = v0.span * 0.25, want1 = v0.span * 0.35;
  check(Math.abs(v4.t0 - want0) < v0.span * 0.01 && Math.abs(v4.t1 - want1) < v0.span * 0.01,
        'drag-select zooms to the selected range', JSON.stringify(v4));
  const rangeText = await page.textContent('#range');
  check(/ms|s|µs/.test(rangeText), 'range label has units', rangeText);

  // --- click a known block ---------------------------------------------
  if (expect.block) {
    const b = expect.block;
    const pt = await page.evaluate((id) => {
      const R = window.waitchainReport;
      // zoom so the block is wide, then find where its mark is
      let p = R.blockPoint(id);
      if (!p) return null;
      return p;
    }, b.id);
    check(pt !== null, 'block ' + b.id + ' is in the report');
    if (pt) {
      await page.evaluate((id) => {
        const R = window.waitchainReport, info = R.blockInfo(id);
        const pad = Math.max(info.dur, 1000);
        R.setView(info.start - pad, info.start + info.dur + pad);
      }, b.id);
      await page.waitForTimeout(50);
      const p = await page.evaluate((id) => window.waitchainReport.blockPoint(id), b.id);
      // bring the block's lane into the viewport, then click its mark
      await page.evaluate((y) => {
        const c = document.getElementById('canvas'), t = document.getElementById('timeline');
        t.scrollTop = Math.max(0, y - 60);
        const r = c.getBoundingClientRect();
        window.scrollBy(0, r.top + y - t.scrollTop - window.innerHeight / 2);
      }, p.y);
      const cb = await page.locator('#canvas').boundingBox();
      await page.mouse.click(cb.x + p.x, cb.y + p.y);
      const det = await page.evaluate(() => {
        const d = document.getElementById('detail');
        return {
          id: d.getAttribute('data-block-id'),
          badge: d.querySelectorAll('.badge-unc').length,
          holders: [...d.querySelectorAll('ol.holders li[data-tid]')].map((li) => Number(li.getAttribute('data-tid'))),
          chain: [...d.querySelectorAll('#chain-tree li[data-depth]')].map((li) => ({
            depth: Number(li.getAttribute('data-depth')),
            tid: li.hasAttribute('data-tid') ? Number(li.getAttribute('data-tid')) : -1,
            state: li.getAttribute('data-state') })),
        };
      });
      check(det.id === String(b.id), 'clicking block ' + b.id + ' opens it', det.id);
      if (b.uncertain !== undefined)
        check(det.badge === (b.uncertain ? 1 : 0), 'its details ' + (b.uncertain ? 'show' : 'do not show') + ' the uncertain badge',
              det.badge);
      check(JSON.stringify(det.holders) === JSON.stringify(b.holders), 'its holders are ' + JSON.stringify(b.holders),
            JSON.stringify(det.holders));
      check(JSON.stringify(det.chain) === JSON.stringify(b.chain), 'its holder chain matches the chain table',
            JSON.stringify(det.chain) + ' != ' + JSON.stringify(b.chain));
      const hl = await page.evaluate(() => window.waitchainReport.highlighted());
      check(hl >= 2, 'the block and its holders\' intervals are highlighted', hl);
    }
  }

  // --- hostile names -----------------------------------------------------
  for (const name of expect.names || []) {
    const found = await page.evaluate((n) => {
      const labels = [...document.querySelectorAll('#lane-labels div, #vcpu-table td, #verdict .name, .holders-table td')];
      return labels.some((e) => e.textContent.includes(n));
    }, name);
    check(found, 'name ' + JSON.stringify(name) + ' is shown as text');
  }
  const injected = await page.evaluate(() => ({
    pwned: typeof window.__pwned,
    svg: document.querySelectorAll('svg').length,
    b: document.querySelectorAll('b').length,
    scripts: document.querySelectorAll('script').length,
    onattrs: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
  }));
  check(injected.pwned === 'undefined' && injected.svg === 0 && injected.b === 0 && injected.scripts === 2 &&
        injected.onattrs === 0, 'no injected code or elements', JSON.stringify(injected));

  if (shotArg) {
    await page.keyboard.press('0');
    await page.screenshot({ path: shotArg, fullPage: true });
    console.log('screenshot ' + shotArg);
  }
  check(errors.length === 0, 'no console errors', errors.join(' | '));
  check(requests.length === 0, 'no network requests', requests.join(' '));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(failures ? failures + ' check(s) failed' : 'all checks passed');
process.exit(failures ? 1 : 0);
