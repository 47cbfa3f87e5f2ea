// screenshot.mjs - the picture of docs/report.md.
//
//   node tests/browser/screenshot.mjs REPORT.html OUT.png [BLOCK_ID]
//
// Opens the report in headless Chromium, zooms the timeline onto one block
// on the global mutex (BLOCK_ID, or the longest one), clicks it and saves the timeline section with the
// holder chain: docs/report-screenshot.png is made with
//   waitchain import samples/bql-stacks/capture.trace.dat -o /tmp/s.db
//   waitchain report /tmp/s.db -o /tmp/s.html
//   node tests/browser/screenshot.mjs /tmp/s.html docs/report-screenshot.png 815
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [report, out, blockArg] = process.argv.slice(2);
if (!report || !out) {
  console.error('usage: node screenshot.mjs REPORT.html OUT.png [BLOCK_ID]');
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), 'wc-shot-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.WC_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
try {
  const page = await ctx.newPage();
  await page.goto('file://' + resolve(report));
  await page.waitForSelector('body[data-ready="1"]');
  const id = await page.evaluate((arg) => {
    const R = window.waitchainReport;
    let id = arg ? Number(arg) : null;
    if (id === null) {
      let best = null;	// the longest block
      for (let i = 0; i < R.blocks(); i++) {
        const b = R.blockAt(i);
        if (!best || b.dur > best.dur) best = b;
      }
      id = best ? best.id : null;
    }
    if (id === null) return null;
    const info = R.blockInfo(id);
    R.setView(info.start - info.dur * 0.6, info.start + info.dur * 1.6);
    return id;
  }, blockArg || null);
  if (id !== null) {
    await page.locator('#timeline-section').scrollIntoViewIfNeeded();
    const p = await page.evaluate((i) => window.waitchainReport.blockPoint(i), id);
    const box = await page.locator('#canvas').boundingBox();
    await page.mouse.click(box.x + p.x, box.y + p.y);
    await page.mouse.move(box.x + p.x + 40, box.y + p.y - 30);
  }
  await page.locator('#timeline-section').screenshot({ path: out });
  console.log('wrote ' + out + (id !== null ? ' (block ' + id + ')' : ''));
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
