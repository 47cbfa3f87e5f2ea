/*
 * report.js - draws the waitchain HTML report from its JSON data block.
 *
 * Safety: the data block is parsed with JSON.parse; every string from the
 * capture (thread names, symbols, file names) reaches the page through
 * textContent or canvas fillText only, never innerHTML.  The page's CSP
 * allows this script by hash and nothing else.
 *
 * Scale: intervals arrive as base64 LEB128 varint streams (html-data.c
 * documents the layout) decoded into typed arrays.  Each frame draws, per
 * lane, only the intervals in view (binary search for the first); runs of
 * intervals narrower than a pixel are folded into one column painted with
 * the state that covers most of it (level of detail), so a zoomed-out view
 * of a million intervals is one linear pass.  Blocks on the global mutex
 * are drawn as marks at least one pixel wide, so none disappears.
 */
'use strict';
(function () {
  var STATES = [
    { name: 'gap', label: 'no data', color: '#ffffff' },
    { name: 'running', label: 'running', color: '#2ca02c' },
    { name: 'preempted', label: 'preempted (runnable, not on a CPU)', color: '#ff9f1a' },
    { name: 'runnable', label: 'woken, waiting for a CPU', color: '#ffd84d' },
    { name: 'global', label: 'blocked on the global mutex', color: '#d62728' },
    { name: 'futex', label: 'blocked on another futex', color: '#9467bd' },
    { name: 'io', label: 'sleeping on I/O (D)', color: '#1f77b4' },
    { name: 'sleeping', label: 'sleeping (S)', color: '#a8c8e8' },
    { name: 'unknown', label: 'unknown', color: '#cfcfcf' },
    { name: 'dead', label: 'exited', color: '#606060' },
    { name: 'deadlock', label: 'deadlock', color: '#000000' }
  ];
  var CERTAINTY = ['exact', 'no release seen (holder unknown)', 'not a lock (signalled)', 'capture ended first', 'other'];
  var LANE_H = 20, AXIS_H = 26, BAR_Y = 2, BAR_H = 12, MARK_Y = 15, MARK_H = 4;

  var perf = window.performance;
  var D = JSON.parse(document.getElementById('data').textContent);
  perf.mark('wc-parsed');

  /* ---------- helpers ---------- */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  /* capture strings for display: control characters (terminal escapes in
   * thread names...) shown as visible \xNN, as the core html_text escaper */
  function vis(str) {
    if (str === null || str === undefined) return str;
    return String(str).replace(/[\u0000-\u001f\u007f-\u009f]/g, function (c) {
      var h = c.charCodeAt(0).toString(16);
      return '\\x' + (h.length < 2 ? '0' + h : h);
    });
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function fmtDur(ns) {
    if (ns === null || ns === undefined || isNaN(ns)) return '-';
    var a = Math.abs(ns);
    if (a < 1e3) return ns.toFixed(0) + ' ns';
    if (a < 1e6) return (ns / 1e3).toPrecision(a < 1e4 ? 3 : a < 1e5 ? 4 : 5).replace(/\.?0+$/, '') + ' \u00b5s';
    if (a < 1e9) return (ns / 1e6).toPrecision(a < 1e7 ? 3 : a < 1e8 ? 4 : 5).replace(/\.?0+$/, '') + ' ms';
    return (ns / 1e9).toFixed(3) + ' s';
  }
  function fmtTime(ns) { return '+' + (ns / 1e9).toFixed(9).replace(/(\.\d{3})(\d{3})(\d{3})$/, '$1 $2 $3') + ' s'; }
  function pct(x, tot) { return tot > 0 ? (100 * x / tot).toFixed(1) + '%' : '-'; }
  function b64bytes(s) {
    var bin = atob(s), n = bin.length, out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function Reader(s) { this.b = b64bytes(s); this.p = 0; }
  Reader.prototype.uv = function () {
    var b = this.b, p = this.p, x = b[p++];
    if (x < 128) { this.p = p; return x; }
    var v = x & 127, m = 128;
    do { x = b[p++]; v += (x & 127) * m; m *= 128; } while (x >= 128);
    this.p = p;
    return v;
  };
  Reader.prototype.sv = function () { var u = this.uv(); return u % 2 ? -(u + 1) / 2 : u / 2; };
  /* first index i in sorted A[0..n) with A[i] > x */
  function upper(a, n, x) {
    var lo = 0, hi = n;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (a[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo;
  }

  /* ---------- decode ---------- */
  var threads = {};
  var byUtid = {};
  D.threads.forEach(function (t, i) { threads[i] = { utid: t[0], tid: t[1], pid: t[2], comm: t[3] }; byUtid[t[0]] = i; });
  function thrName(i) {
    var t = threads[i];
    if (!t) return 'unknown thread';
    return (t.comm === null ? '?' : vis(t.comm)) + ' (tid ' + t.tid + ')';
  }
  function utidName(u) { return byUtid[u] === undefined ? 'utid ' + u : thrName(byUtid[u]); }

  var lanes = D.lanes.map(function (L, li) {
    var r = new Reader(L.iv), n = L.n;
    var st = new Float64Array(n + 1), sts = new Uint8Array(n), t = L.start;
    for (var i = 0; i < n; i++) {
      var v = r.uv(), s = v % 16;
      st[i] = t; sts[i] = s; t += (v - s) / 16;
    }
    st[n] = t;
    return { L: L, idx: li, th: L.th, kind: L.kind, n: n, starts: st, states: sts, blocks: [] };
  });

  var NB = D.blocks.n;
  var B = { id: new Float64Array(NB), lane: new Int32Array(NB), start: new Float64Array(NB),
            dur: new Float64Array(NB), stack: new Int32Array(NB), waker: new Int32Array(NB), unc: new Uint8Array(NB) };
  (function () {
    var r = new Reader(D.blocks.b), id = 0, s = 0;
    for (var i = 0; i < NB; i++) {
      id += r.sv(); B.id[i] = id;
      B.lane[i] = r.uv();
      s += r.sv(); B.start[i] = s;
      B.dur[i] = r.uv();
      B.stack[i] = r.uv() - 1;
      var wk = r.uv();
      B.unc[i] = wk % 2; B.waker[i] = (wk - B.unc[i]) / 2 - 1;
      if (lanes[B.lane[i]]) lanes[B.lane[i]].blocks.push(i);
    }
    lanes.forEach(function (l) {
      l.blocks.sort(function (a, b) { return B.start[a] - B.start[b]; });
      var n = l.blocks.length;
      l.bidx = Int32Array.from(l.blocks);
      l.bstart = new Float64Array(n); l.bend = new Float64Array(n);
      for (var k = 0; k < n; k++) { l.bstart[k] = B.start[l.bidx[k]]; l.bend[k] = B.start[l.bidx[k]] + B.dur[l.bidx[k]]; }
      /* running maximum of ends, for "which block covers t" searches */
      l.bmaxend = new Float64Array(n);
      var m = -Infinity;
      for (k = 0; k < n; k++) { m = Math.max(m, l.bend[k]); l.bmaxend[k] = m; }
      delete l.blocks;
    });
  })();
  /*
   * Holder and chain rows, grouped by block (html-data.c): decoded only for
   * the block that is clicked.  The first use scans the stream once to note
   * where each block's rows start.
   */
  function RowStream(blob, fields) {
    this.blob = blob; this.fields = fields; this.r = null; this.off = null;
  }
  RowStream.prototype.index = function () {
    var r = new Reader(this.blob.b), n = this.blob.n, nf = this.fields.length, pos = 0, off = new Int32Array(NB).fill(-1);
    for (var i = 0; i < n; i++) {
      var p = r.p, d = r.uv();
      pos += d;
      if (d || i === 0) off[pos] = p;
      for (var k = 0; k < nf; k++) r.uv();
    }
    this.r = r; this.off = off;
  };
  /* rows of block B: array of objects with the stream's fields (from as
   * absolute relative-to-t0 ns) */
  RowStream.prototype.rows = function (b) {
    if (!this.off) this.index();
    var out = [], r = this.r, f = this.fields, nf = f.length, end = B.start[b];
    if (this.off[b] < 0) return out;
    r.p = this.off[b];
    r.uv();	/* block delta of the first row */
    for (;;) {
      var row = {};
      for (var k = 0; k < nf; k++) {
        if (f[k] === 'from') { row.from = end + r.sv(); }
        else row[f[k]] = r.uv();
      }
      end = row.from + row.dur;
      out.push(row);
      if (r.p >= r.b.length) break;
      var save = r.p;
      if (r.uv() !== 0) { r.p = save; break; }
    }
    return out;
  };
  var H = new RowStream(D.holders, ['th', 'from', 'dur', 'cert']);
  var C = new RowStream(D.chain, ['depth', 'th', 'from', 'dur', 'st', 'fx', 'pb']);
  perf.mark('wc-decoded');

  /* ---------- header ---------- */
  var cap = D.capture || {}, ana = D.analysis || {};
  function basename(p) { return p ? String(p).replace(/^.*\//, '') : ''; }
  document.getElementById('title').textContent = 'waitchain report: ' + vis(basename(cap.source_file) || basename(D.db) || 'capture');
  (function facts() {
    var dl = document.getElementById('facts');
    function add(k, v) {
      if (v === undefined || v === null || v === '') return;
      var d = el('div'); d.appendChild(el('dt', null, k)); d.appendChild(el('dd', null, vis(v))); dl.appendChild(d);
    }
    add('File', cap.source_file || D.db);
    add('Format', (cap.format || '?') + (cap.format_version ? ' v' + cap.format_version : '') +
        (cap.file_compression && cap.file_compression !== 'none' ? ', ' + cap.file_compression : ''));
    add('Host', cap.hostname);
    add('Kernel', cap.osrelease || cap.uname);
    add('Arch', cap.arch);
    add('CPUs', cap.nrcpus);
    add('Clock', cap.clock);
    add('Span', fmtDur(D.span) + (cap.first_ts ? ' (from ' + cap.first_ts + ' ns)' : ''));
    add('Events', cap.events ? Number(cap.events).toLocaleString('en-US') : null);
    add('Recorder', cap.tracer_version);
    add('Case DB', D.db);
  })();

  var V = D.verdict && D.verdict.analyzed !== undefined ? D.verdict : null;
  (function warningsList() {
    var warnings = [];
    if (V) V.warnings.forEach(function (w) { warnings.push(w); });
    else {
      if (cap.truncated === '1') warnings.push('The capture is truncated' + (cap.truncated_reason ? ': ' + cap.truncated_reason : '') + '.');
      if (cap.has_sched_waking === '0') warnings.push('No sched_waking events: wakers come from sched_wakeup and are approximate.');
      if (cap.has_futex === '0') warnings.push('No futex system calls recorded: lock holders cannot be known.');
      if (cap.has_stacks === '0') warnings.push('No stacks recorded: there is no stack evidence for the blocks.');
    }
    var parts = [];
    (D.lost || []).forEach(function (l) {
      if (l[1] > 0) parts.push((l[0] === null ? 'unknown CPU' : 'CPU ' + l[0]) + ': ' + Number(l[1]).toLocaleString('en-US') + ' (' + l[2] + ')');
    });
    if (parts.length) warnings.push('Lost events per CPU: ' + parts.join('; ') + '.');
    var ul = document.getElementById('warnings');
    warnings.forEach(function (w) { ul.appendChild(el('li', null, vis(w))); });
  })();

  /* ---------- verdict ---------- */
  var vlanes = lanes.filter(function (l) { return l.kind === 'vcpu'; });
  var laneByTid = {};
  lanes.forEach(function (l) { if (laneByTid[threads[l.th].tid] === undefined) laneByTid[threads[l.th].tid] = l; });
  function nameOf(name, tid) { return (name === null || name === undefined ? '?' : vis(name)) + ' (tid ' + tid + ')'; }
  (function verdict() {
    var box = document.getElementById('verdict');
    if (V && V.story.length) {
      V.story.forEach(function (sentence) {
        var p = el('p');
        sentence.forEach(function (span) {
          if (span[0] === 1) p.appendChild(el('span', 'name', vis(span[1])));
          else p.appendChild(document.createTextNode(span[1]));
        });
        box.appendChild(p);
      });
    } else {
      box.appendChild(el('p', null, V && !V.analyzed ? 'This database has no analysis results: run waitchain analyze.' :
        'No global mutex was found in this capture, so there is no holder chain to show.'));
    }
    if (!V || !V.locks.length) return;
    var wrap = document.getElementById('holders-wrap');
    V.locks.forEach(function (g) {
      wrap.appendChild(el('h3', null, 'Who held futex ' + g.uaddr + (g.symbol ? ' (' + vis(g.symbol) + ')' : '') + ' of process ' + g.pid +
        (g.process ? ' (' + vis(g.process) + ')' : '') + ' while vCPUs waited (' + fmtDur(g.blocked_ns) + ' in ' +
        Number(g.nblocks).toLocaleString('en-US') + ' blocks)'));
      var tw = el('div', 'tablewrap'), t = el('table', 'data'); t.className = 'data holders-table';
      var cols = ['running', 'preempted', 'waiting for a CPU', 'waiting on a futex', 'on I/O', 'sleeping', 'unknown'];
      var tr = el('tr');
      [['Holder', 'l'], ['Held'], ['Blocks']].concat(cols.map(function (c) { return [c]; })).concat([['Waited on, held by', 'l']])
        .forEach(function (h) { tr.appendChild(el('th', h[1] || null, h[0])); });
      var thead = el('thead'); thead.appendChild(tr); t.appendChild(thead);
      var tb = el('tbody');
      g.holders.forEach(function (h) {
        var r = el('tr');
        r.setAttribute('data-tid', String(h.tid));
        var c0 = el('td', 'l', h.tid < 0 ? 'unknown holder' : nameOf(h.name, h.tid));
        if (h.is_vcpu) c0.appendChild(el('span', 'sub', 'a vCPU'));
        r.appendChild(c0);
        var held = el('td', null, fmtDur(h.held_ns)); held.appendChild(el('span', 'sub', h.held_pct.toFixed(1) + '%')); r.appendChild(held);
        r.appendChild(el('td', null, Number(h.blocks).toLocaleString('en-US')));
        h.state_ns.forEach(function (ns, i) {
          var td = el('td', null, ns ? pct(ns, h.held_ns) : '');
          if (ns) td.title = fmtDur(ns);
          if (i === 1 && h.preemptor_tid >= 0) td.appendChild(el('span', 'sub', 'by ' + nameOf(h.preemptor_name, h.preemptor_tid)));
          r.appendChild(td);
        });
        var via = el('td', 'l');
        h.via.forEach(function (w) {
          via.appendChild(el('span', 'sub', 'futex ' + w.futex_uaddr + ': ' + (w.tid < 0 ? 'unknown' : nameOf(w.name, w.tid)) + ', ' +
            w.state + ', ' + w.pct_of_held.toFixed(1) + '% of its hold'));
        });
        r.appendChild(via);
        tb.appendChild(r);
      });
      t.appendChild(tb); tw.appendChild(t); wrap.appendChild(tw);
    });
  })();

  /* ---------- per-vCPU table ---------- */
  (function vcpuTable() {
    var t = document.getElementById('vcpu-table');
    var heads = [['vCPU thread', 'l'], ['Running'], ['Preempted'], ['Waiting for a CPU'], ['Blocked: global mutex'], ['Blocked: other'],
                 ['Blocks on global mutex'], ['p50'], ['p95'], ['p99'], ['max'], ['Uncertain blocks']];
    var thead = el('thead'), tr = el('tr');
    heads.forEach(function (h) { tr.appendChild(el('th', h[1] || null, h[0])); });
    thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody');
    function cell(r, ns, tot, key) {
      var td = el('td', null, fmtDur(ns));
      td.appendChild(el('span', 'sub', pct(ns, tot)));
      td.setAttribute('data-key', key); td.setAttribute('data-value', String(ns));
      r.appendChild(td);
    }
    function num(r, v, key, dur) {
      var td = el('td', null, dur ? (v ? fmtDur(v) : '-') : Number(v).toLocaleString('en-US'));
      td.setAttribute('data-key', key); td.setAttribute('data-value', String(v)); r.appendChild(td);
    }
    var rows = V ? V.vcpus : [];
    rows.forEach(function (c) {
      var r = el('tr');
      r.setAttribute('data-tid', String(c.tid));
      r.appendChild(el('td', 'l', nameOf(c.name, c.tid)));
      cell(r, c.running_ns, c.observed_ns, 'running_ns');
      cell(r, c.preempted_ns, c.observed_ns, 'preempted_ns');
      cell(r, c.woken_ns, c.observed_ns, 'woken_ns');
      cell(r, c.global_ns, c.observed_ns, 'global_ns');
      cell(r, c.other_blocked_ns, c.observed_ns, 'other_blocked_ns');
      num(r, c.global_blocks, 'global_blocks');
      num(r, c.p50_ns, 'p50_ns', 1); num(r, c.p95_ns, 'p95_ns', 1); num(r, c.p99_ns, 'p99_ns', 1); num(r, c.max_ns, 'max_ns', 1);
      num(r, c.uncertain_global_blocks || 0, 'uncertain_global_blocks');
      if (c.uncertain_global_blocks) r.lastChild.className = 'unc';
      tb.appendChild(r);
    });
    if (!rows.length) { var r = el('tr'), td = el('td', 'l', 'No vCPU threads in this capture.'); td.colSpan = heads.length; r.appendChild(td); tb.appendChild(r); }
    t.appendChild(tb);
  })();

  /* ---------- histogram ---------- */
  (function histogram() {
    var box = document.getElementById('histogram');
    var nb = 0; vlanes.forEach(function (l) { nb = Math.max(nb, (l.L.hist || []).length); });
    var tot = new Array(nb).fill(0);
    vlanes.forEach(function (l) { (l.L.hist || []).forEach(function (c, k) { tot[k] += c; }); });
    var lo = tot.findIndex(function (c) { return c > 0; }), hi = nb - 1;
    while (hi >= 0 && !tot[hi]) hi--;
    if (lo < 0) { box.appendChild(el('p', 'hint', 'No blocks on the global mutex.')); return; }
    var max = Math.max.apply(null, tot);
    function edge(k) { return k === 0 ? 0 : 1000 * Math.pow(2, k - 1); }
    for (var k = lo; k <= hi; k++) {
      var label = k === nb - 1 ? '\u2265 ' + fmtDur(edge(k)) : k === 0 ? '< 1 \u00b5s' : fmtDur(edge(k)) + ' \u2013 ' + fmtDur(edge(k + 1));
      box.appendChild(el('span', 'lab', label));
      var barw = el('div'), bar = el('div', 'bar');
      bar.style.width = (100 * tot[k] / max).toFixed(2) + '%';
      bar.title = vlanes.map(function (l) { return vis(threads[l.th].comm) + ': ' + ((l.L.hist || [])[k] || 0); }).join('\n');
      barw.appendChild(bar); box.appendChild(barw);
      box.appendChild(el('span', 'cnt', Number(tot[k]).toLocaleString('en-US')));
    }
  })();

  /* ---------- stacks ---------- */
  function frameText(f) {
    var s = f[1] !== null ? vis(f[1]) + (f[3] ? '+0x' + Number(f[3]).toString(16) : '') : f[4];
    return s + (f[2] ? '  [' + vis(basename(f[2])) + ']' : '');
  }
  function framesList(idx, limit) {
    var ul = el('ul', 'frames'), fr = D.stacks[idx] || [];
    fr.slice(0, limit || fr.length).forEach(function (f) { ul.appendChild(el('li', f[0] ? 'k' : 'u', (f[0] ? 'k  ' : 'u  ') + frameText(f))); });
    if (limit && fr.length > limit) ul.appendChild(el('li', null, '\u2026 ' + (fr.length - limit) + ' more frames'));
    return ul;
  }
  (function stacks() {
    var t = document.getElementById('stacks-table');
    var tr = el('tr');
    [['#'], ['Blocks'], ['Blocked time'], ['On', 'l'], ['Stack (innermost first; k kernel, u user)', 'l']].forEach(function (h) { tr.appendChild(el('th', h[1] || null, h[0])); });
    var th = el('thead'); th.appendChild(tr); t.appendChild(th);
    var tb = el('tbody');
    (D.top_stacks || []).forEach(function (s, i) {
      var r = el('tr');
      r.appendChild(el('td', null, i + 1));
      r.appendChild(el('td', null, Number(s[2]).toLocaleString('en-US')));
      r.appendChild(el('td', null, fmtDur(s[3])));
      r.appendChild(el('td', 'l', s[1] ? 'global mutex' : 'other'));
      var td = el('td', 'l'); td.appendChild(framesList(s[0], 12)); r.appendChild(td);
      tb.appendChild(r);
    });
    if (!(D.top_stacks || []).length) {
      var r = el('tr'), td = el('td', 'l', cap.has_stacks === '0' ? 'The capture has no stacks.' : 'No vCPU block has a stack.');
      td.colSpan = 5; r.appendChild(td); tb.appendChild(r);
    }
    t.appendChild(tb);
  })();

  /* ---------- events table ---------- */
  (function events() {
    var t = document.getElementById('events-table'), tr = el('tr');
    tr.appendChild(el('th', 'l', 'Event')); tr.appendChild(el('th', null, 'Count'));
    var th = el('thead'); th.appendChild(tr); t.appendChild(th);
    var tb = el('tbody');
    (D.events || []).forEach(function (e) { var r = el('tr'); r.appendChild(el('td', 'l', vis(e[0]))); r.appendChild(el('td', null, Number(e[1]).toLocaleString('en-US'))); tb.appendChild(r); });
    t.appendChild(tb);
    var f = document.getElementById('foot');
    f.textContent = 'Written by waitchain' + (ana.waitchain_version ? ' ' + ana.waitchain_version : '') + ' from ' + (D.db || '') +
      '. Self-contained: no network access. ' + lanes.length + ' lanes, ' +
      lanes.reduce(function (a, l) { return a + l.n; }, 0).toLocaleString('en-US') + ' intervals.';
  })();

  /* ---------- legend ---------- */
  (function legend() {
    var lg = document.getElementById('legend');
    [1, 2, 3, 4, 5, 6, 7, 8, 9].forEach(function (s) {
      var it = el('span'), sw = el('span', 'swatch'); sw.style.background = STATES[s].color;
      it.appendChild(sw); it.appendChild(document.createTextNode(STATES[s].label)); lg.appendChild(it);
    });
    var m = el('span'); m.appendChild(el('span', 'mark')); m.appendChild(document.createTextNode('a block on the global mutex (click it)')); lg.appendChild(m);
    var u = el('span'); u.appendChild(el('span', 'mark unc')); u.appendChild(document.createTextNode('an uncertain block (lost events or a fallback)')); lg.appendChild(u);
  })();

  /* ---------- timeline ---------- */
  var labels = document.getElementById('lane-labels');
  var canvas = document.getElementById('canvas'), wrap = document.getElementById('canvas-wrap');
  var tl = document.getElementById('timeline'), tip = document.getElementById('tooltip');
  var ctx = canvas.getContext('2d');
  var KIND = { vcpu: 'vCPU', holder: 'holder', chain: 'chain', thread: '--thread' };
  labels.appendChild(el('div', 'axis', ''));
  lanes.forEach(function (l) {
    var d = el('div', null, thrName(l.th));
    d.appendChild(el('span', 'kind', KIND[l.kind] || l.kind));
    d.title = thrName(l.th);
    labels.appendChild(d);
  });
  var SPAN = Math.max(D.span, 1);
  var view = { t0: 0, t1: SPAN };
  var W = 0, Hc = 0, dpr = 1, sel = null, drag = null, hl = null, pending = false;

  function clampView() {
    var w = view.t1 - view.t0;
    if (w < 100) { var c = (view.t0 + view.t1) / 2; view.t0 = c - 50; view.t1 = c + 50; w = 100; }
    if (w > SPAN) { view.t0 = 0; view.t1 = SPAN; return; }
    if (view.t0 < 0) { view.t1 -= view.t0; view.t0 = 0; }
    if (view.t1 > SPAN) { view.t0 -= view.t1 - SPAN; view.t1 = SPAN; }
  }
  function resize() {
    dpr = window.devicePixelRatio || 1;
    W = Math.max(100, wrap.clientWidth);
    Hc = AXIS_H + lanes.length * LANE_H + 4;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(Hc * dpr);
    canvas.style.width = W + 'px'; canvas.style.height = Hc + 'px';
    redraw();
  }
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(draw); } }
  function x2t(x) { return view.t0 + (x / W) * (view.t1 - view.t0); }
  function t2x(t) { return (t - view.t0) * W / (view.t1 - view.t0); }

  function niceStep(ns) {
    var p = Math.pow(10, Math.floor(Math.log10(ns))), m = ns / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  /* tick label: the unit a tenth of which is at most the step, with just
   * the decimals the step needs (329.5 ms, not 329500 us) */
  function axisLabel(t, step) {
    var u = step >= 1e8 ? [1e9, 's'] : step >= 1e5 ? [1e6, 'ms'] : step >= 1e2 ? [1e3, '\u00b5s'] : [1, 'ns'];
    var dec = Math.max(0, Math.ceil(-Math.log10(step / u[0]) - 1e-9));
    return (t / u[0]).toFixed(Math.min(dec, 9)) + ' ' + u[1];
  }

  /*
   * Level of detail: per lane, the dominant state (most time, gaps aside)
   * of 2^k equal buckets of the capture for k = LOD_MIN..LOD_MAX, built once
   * from the intervals (O(intervals + buckets)).  A view coarser than the
   * finest buckets is painted from the level whose buckets are just under a
   * pixel wide: O(pixels) per lane and frame, however many intervals.
   */
  var LOD_MAX = 16, LOD_MIN = 6, NST = STATES.length;
  function buildLod(l) {
    var nbk = 1 << LOD_MAX, bw = SPAN / nbk, dur = new Float32Array(nbk * NST);
    var st = l.starts, ss = l.states;
    for (var i = 0; i < l.n; i++) {
      var s = ss[i];
      if (!s) continue;
      var a = st[i], e = st[i + 1];
      var b = Math.max(0, Math.floor(a / bw)), be = Math.min(nbk - 1, Math.floor(e / bw));
      for (; b <= be; b++) {
        var lo = Math.max(a, b * bw), hi = Math.min(e, (b + 1) * bw);
        if (hi > lo) dur[b * NST + s] += hi - lo;
      }
    }
    var levels = [];
    for (var k = LOD_MAX; k >= LOD_MIN; k--) {
      var n = 1 << k, dom = new Uint8Array(n);
      for (var j = 0; j < n; j++) {
        var best = 0, bv = 0, o = j * NST;
        for (var q = 1; q < NST; q++) if (dur[o + q] > bv) { bv = dur[o + q]; best = q; }
        dom[j] = best;
      }
      levels[k] = dom;
      if (k > LOD_MIN) {
        var half = new Float32Array((n >> 1) * NST);
        for (j = 0; j < half.length; j++) {
          var jj = ((j / NST) | 0) * 2 * NST + (j % NST);
          half[j] = dur[jj] + dur[jj + NST];
        }
        dur = half;
      }
    }
    l.lod = levels;
  }
  /* paints lane L from its LOD level K (buckets narrower than a pixel) */
  function drawLaneLod(l, y, k) {
    var dom = l.lod[k], n = 1 << k, bw = SPAN / n, pxns = (view.t1 - view.t0) / W;
    var runS = 0, runX = 0, cur = -1;
    for (var x = 0; x <= W; x++) {
      var s = 0;
      if (x < W) {
        var b = Math.floor((view.t0 + (x + 0.5) * pxns) / bw);
        s = b >= 0 && b < n ? dom[b] : 0;
      }
      if (x === W || s !== runS) {
        if (runS && x > runX) {
          if (cur !== runS) { ctx.fillStyle = STATES[runS].color; cur = runS; }
          ctx.fillRect(runX, y + BAR_Y, x - runX, BAR_H);
        }
        runS = s; runX = x;
      }
    }
  }

  var acc = new Float64Array(STATES.length);
  function drawLane(l, y) {
    var pxns = (view.t1 - view.t0) / W;
    if (pxns >= SPAN / (1 << LOD_MAX) && l.n > 4 * W) {
      if (!l.lod) buildLod(l);
      var k = Math.max(LOD_MIN, Math.min(LOD_MAX, Math.ceil(Math.log2(SPAN / pxns))));
      drawLaneLod(l, y, k);
      drawMarks(l, y);
      return;
    }
    var st = l.starts, ss = l.states, n = l.n;
    var k = W / (view.t1 - view.t0), t0 = view.t0, t1 = view.t1;
    var i = Math.max(0, upper(st, n, t0) - 1);
    var col = -1, curStyle = -1;
    function flushCol() {
      if (col < 0) return;
      var best = 0, bv = 0;
      for (var s = 1; s < acc.length; s++) if (acc[s] > bv) { bv = acc[s]; best = s; }
      if (best) {
        if (curStyle !== best) { ctx.fillStyle = STATES[best].color; curStyle = best; }
        ctx.fillRect(col, y + BAR_Y, 1, BAR_H);
      }
      acc.fill(0); col = -1;
    }
    for (; i < n && st[i] < t1; i++) {
      var s = ss[i];
      var x0 = (st[i] - t0) * k, x1 = (st[i + 1] - t0) * k;
      if (x1 <= 0) continue;
      if (x0 < 0) x0 = 0;
      if (x1 > W) x1 = W;
      var c0 = Math.floor(x0);
      if (x1 - x0 >= 1.5 || Math.floor(x1) > c0 + 1) {
        /* wide: paint the partial first column into the bucket, rest directly */
        if (col >= 0 && col !== c0) flushCol();
        if (!s) continue;
        var xa = col === c0 ? c0 + 1 : x0;
        if (col === c0) { acc[s] += c0 + 1 - x0; flushCol(); }
        /* after flushCol(), which may have changed the fill style */
        if (curStyle !== s) { ctx.fillStyle = STATES[s].color; curStyle = s; }
        ctx.fillRect(xa, y + BAR_Y, x1 - xa, BAR_H);
      } else {
        if (col !== c0) { flushCol(); col = c0; }
        acc[s] += x1 - x0;
      }
    }
    flushCol();
    drawMarks(l, y);
  }

  /* global-mutex block marks of lane L, at least 1px, one per pixel column */
  function drawMarks(l, y) {
    var k = W / (view.t1 - view.t0), t0 = view.t0, t1 = view.t1;
    var nbk = l.bidx.length;
    if (nbk) {
      ctx.fillStyle = '#7a0010';
      var j = upper(l.bmaxend, nbk, t0), lastx = -2;
      for (; j < nbk && l.bstart[j] < t1; j++) {
        var bx0 = Math.max(0, (l.bstart[j] - t0) * k), bx1 = Math.min(W, (l.bend[j] - t0) * k);
        if (bx1 < 0) continue;
        var fx = Math.floor(bx0), w = Math.max(1, bx1 - bx0);
        if (w <= 1 && fx === lastx) continue;
        if (B.unc[l.bidx[j]]) {
          /* uncertain: an orange outline with a hollow middle */
          ctx.fillStyle = '#e07000';
          ctx.fillRect(w <= 1 ? fx : bx0, y + MARK_Y - 1, w, MARK_H + 2);
          if (w > 2) { ctx.fillStyle = '#fff4e0'; ctx.fillRect(bx0 + 1, y + MARK_Y, w - 2, MARK_H); }
          ctx.fillStyle = '#7a0010';
        } else {
          ctx.fillRect(w <= 1 ? fx : bx0, y + MARK_Y, w, MARK_H);
        }
        lastx = fx;
      }
    }
  }

  var drawMs = [];
  function draw() {
    var tstart = perf.now();
    pending = false;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, Hc);
    ctx.fillStyle = '#f5f6f8'; ctx.fillRect(0, 0, W, AXIS_H);
    /* axis */
    var step = niceStep((view.t1 - view.t0) / Math.max(1, W / 110));
    ctx.fillStyle = '#1d2330'; ctx.font = '11px system-ui, sans-serif'; ctx.textBaseline = 'top';
    ctx.strokeStyle = '#e3e6ec'; ctx.lineWidth = 1;
    for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      var x = Math.round(t2x(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, Hc); ctx.stroke();
      var lab = axisLabel(t, step);
      if (x + 3 + ctx.measureText(lab).width <= W) ctx.fillText(lab, x + 3, 4);
    }
    for (var li = 0; li < lanes.length; li++) drawLane(lanes[li], AXIS_H + li * LANE_H);
    /* highlights of the selected block's chain */
    if (hl) {
      hl.rects.forEach(function (r) {
        var x0 = Math.max(0, t2x(r.from)), x1 = Math.min(W, t2x(r.to));
        if (x1 < 0 || x0 > W) return;
        var y = AXIS_H + r.lane * LANE_H;
        ctx.fillStyle = r.main ? 'rgba(0,0,0,0.12)' : 'rgba(20,90,255,0.20)';
        ctx.fillRect(x0, y, Math.max(2, x1 - x0), LANE_H);
        ctx.strokeStyle = r.main ? '#000' : '#1450ff'; ctx.lineWidth = 1.5;
        ctx.strokeRect(x0 + 0.5, y + 0.5, Math.max(2, x1 - x0) - 1, LANE_H - 1);
      });
    }
    if (sel) {
      ctx.fillStyle = 'rgba(40,100,220,0.18)';
      ctx.fillRect(Math.min(sel.x0, sel.x1), AXIS_H, Math.abs(sel.x1 - sel.x0), Hc - AXIS_H);
    }
    document.getElementById('range').textContent = 'Showing ' + fmtTime(view.t0) + ' \u2026 ' + fmtTime(view.t1) +
      ' (' + fmtDur(view.t1 - view.t0) + ' of ' + fmtDur(SPAN) + ')';
    if (!drawMs.length) perf.mark('wc-first-frame');
    drawMs.push(perf.now() - tstart);
    if (drawMs.length > 1000) drawMs.shift();
  }

  function zoom(f, atX) {
    var cx = atX === undefined ? (view.t0 + view.t1) / 2 : x2t(atX);
    view.t0 = cx - (cx - view.t0) * f; view.t1 = cx + (view.t1 - cx) * f;
    clampView(); redraw();
  }
  function pan(frac) { var w = view.t1 - view.t0; view.t0 += w * frac; view.t1 += w * frac; clampView(); redraw(); }
  function setView(a, b) { view.t0 = a; view.t1 = b; clampView(); redraw(); }

  function posOf(ev) { var r = canvas.getBoundingClientRect(); return { x: ev.clientX - r.left, y: ev.clientY - r.top }; }
  function laneAt(y) { var i = Math.floor((y - AXIS_H) / LANE_H); return y >= AXIS_H && i >= 0 && i < lanes.length ? i : -1; }
  function intervalAt(l, t) {
    var i = upper(l.starts, l.n, t) - 1;
    return i >= 0 && i < l.n && t < l.starts[i + 1] ? i : -1;
  }
  /* the global-mutex block of lane L under time T, within SLACK ns */
  function blockAt(l, t, slack) {
    var n = l.bidx.length, best = -1, bd = Infinity;
    var j = upper(l.bmaxend, n, t - slack);
    for (; j < n && l.bstart[j] <= t + slack; j++) {
      var d = t < l.bstart[j] ? l.bstart[j] - t : t > l.bend[j] ? t - l.bend[j] : 0;
      if (d < bd) { bd = d; best = l.bidx[j]; }
    }
    return best;
  }

  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var p = posOf(ev);
    if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) pan((ev.deltaX || ev.deltaY) / 1000);
    else zoom(Math.pow(1.0015, ev.deltaY * (ev.deltaMode === 1 ? 33 : 1)), p.x);
  }, { passive: false });
  canvas.addEventListener('mousedown', function (ev) {
    if (ev.button !== 0) return;
    var p = posOf(ev);
    drag = { x: p.x, y: p.y, pan: ev.shiftKey, v0: view.t0, v1: view.t1, moved: false };
    tl.focus({ preventScroll: true });
    ev.preventDefault();
  });
  window.addEventListener('mousemove', function (ev) {
    if (drag) {
      var p = posOf(ev);
      if (Math.abs(p.x - drag.x) > 3) drag.moved = true;
      if (drag.pan) {
        var dt = (p.x - drag.x) * (drag.v1 - drag.v0) / W;
        view.t0 = drag.v0 - dt; view.t1 = drag.v1 - dt; clampView(); redraw();
      } else if (drag.moved) {
        sel = { x0: drag.x, x1: Math.max(0, Math.min(W, p.x)) }; redraw();
      }
      tip.hidden = true;
      return;
    }
    if (ev.target !== canvas) { tip.hidden = true; return; }
    hover(ev);
  });
  window.addEventListener('mouseup', function (ev) {
    if (!drag) return;
    var d = drag; drag = null;
    if (sel) {
      var a = x2t(Math.min(sel.x0, sel.x1)), b = x2t(Math.max(sel.x0, sel.x1));
      sel = null;
      if (b - a > 0) setView(a, b); else redraw();
      return;
    }
    if (!d.moved && !d.pan) click(posOf(ev));
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
  tl.addEventListener('keydown', onKey);
  document.addEventListener('keydown', function (ev) { if (ev.target === document.body) onKey(ev); });
  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key, done = true;
    if (k === '+' || k === '=' || k === 'w' || k === 'W') zoom(0.5);
    else if (k === '-' || k === '_' || k === 's' || k === 'S') zoom(2);
    else if (k === 'ArrowLeft' || k === 'a' || k === 'A') pan(-0.2);
    else if (k === 'ArrowRight' || k === 'd' || k === 'D') pan(0.2);
    else if (k === '0' || k === 'Home') setView(0, SPAN);
    else done = false;
    if (done) ev.preventDefault();
  }
  document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(2); });
  document.getElementById('pan-left').addEventListener('click', function () { pan(-0.2); });
  document.getElementById('pan-right').addEventListener('click', function () { pan(0.2); });
  document.getElementById('zoom-reset').addEventListener('click', function () { setView(0, SPAN); });
  window.addEventListener('resize', resize);

  function hover(ev) {
    var p = posOf(ev), li = laneAt(p.y);
    if (li < 0) { tip.hidden = true; return; }
    var l = lanes[li], t = x2t(p.x), i = intervalAt(l, t);
    clear(tip);
    tip.appendChild(el('strong', null, thrName(l.th)));
    tip.appendChild(el('div', null, (KIND[l.kind] || l.kind) + ' lane'));
    if (i >= 0) {
      tip.appendChild(el('div', null, 'State: ' + STATES[l.states[i]].label));
      tip.appendChild(el('div', null, 'Start: ' + fmtTime(l.starts[i])));
      tip.appendChild(el('div', null, 'Duration: ' + fmtDur(l.starts[i + 1] - l.starts[i])));
      var pxns = (view.t1 - view.t0) / W;
      if ((l.starts[i + 1] - l.starts[i]) < pxns) tip.appendChild(el('div', null, '(narrower than a pixel: zoom in for its neighbours)'));
    } else {
      tip.appendChild(el('div', null, 'No data at ' + fmtTime(t)));
    }
    var b = blockAt(l, t, 3 * (view.t1 - view.t0) / W);
    if (b >= 0) tip.appendChild(el('div', null, 'Global-mutex block ' + fmtDur(B.dur[b]) + ' (click for its holders)'));
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth - 4) x = ev.clientX - tip.offsetWidth - 10;
    if (y + tip.offsetHeight > window.innerHeight - 4) y = ev.clientY - tip.offsetHeight - 10;
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }

  function click(p) {
    var li = laneAt(p.y);
    if (li < 0) return;
    var b = blockAt(lanes[li], x2t(p.x), 3 * (view.t1 - view.t0) / W);
    if (b >= 0) showBlock(b);
  }

  var laneOfThread = {};
  lanes.forEach(function (l, i) { laneOfThread[l.th] = i; });
  function stateLabel(code) { return (STATES[code] || STATES[8]).label; }
  function futexName(i) {
    var f = D.futexes[i];
    if (!f) return 'a futex';
    return 'futex ' + f[1] + (f[0] >= 0 ? ' of process ' + f[0] : '') + (f[3] ? ' (' + vis(f[3]) + ')' : f[2] ? ' (' + f[2] + ')' : '');
  }

  function showBlock(b) {
    var box = document.getElementById('detail'), l = lanes[B.lane[b]];
    clear(box);
    box.setAttribute('data-block-id', String(B.id[b]));
    var rects = [{ lane: B.lane[b], from: B.start[b], to: B.start[b] + B.dur[b], main: true }];
    box.appendChild(el('h3', null, 'Block ' + B.id[b] + ': ' + thrName(l.th) + ' waited ' + fmtDur(B.dur[b]) + ' on the global mutex'));
    if (B.unc[b]) {
      var badge = el('p', null); badge.appendChild(el('span', 'badge-unc', 'uncertain'));
      badge.appendChild(document.createTextNode(' this block overlaps lost events or rests on a fallback (sched_wakeup): its times, holders or waker may be wrong.'));
      box.appendChild(badge);
    }
    box.appendChild(el('p', null, 'From ' + fmtTime(B.start[b]) + ' to ' + fmtTime(B.start[b] + B.dur[b]) +
      (B.waker[b] >= 0 ? '; woken by ' + thrName(B.waker[b]) : '; not woken within the capture') + '.'));
    /* holders */
    var hrows = H.rows(b);
    box.appendChild(el('h3', null, 'Holders of the mutex while it waited'));
    var hol = el('ol', 'holders');
    hrows.forEach(function (hr) {
      var ht = hr.th - 1, cert = hr.cert;
      var li = el('li', null, (ht >= 0 ? thrName(ht) : 'unknown thread') + ' held it for ' + fmtDur(hr.dur) + ' (from ' + fmtTime(hr.from) + ', ' +
        CERTAINTY[Math.min(cert >> 1, CERTAINTY.length - 1)] + (cert & 1 ? ', its release woke the waiter' : '') + ')');
      if (ht >= 0) li.setAttribute('data-tid', String(threads[ht].tid));
      hol.appendChild(li);
    });
    if (!hrows.length) hol.appendChild(el('li', null, 'No holder recorded.'));
    box.appendChild(hol);
    /* chain tree */
    box.appendChild(el('h3', null, 'Holder chain (what each holder was doing, and whom it waited for)'));
    var root = el('ul', 'chain'), stack = [root];
    root.id = 'chain-tree';
    var crows = C.rows(b);
    crows.forEach(function (cr) {
      var depth = cr.depth, th = cr.th - 1, st = cr.st >> 1, unc = cr.st & 1;
      while (stack.length > depth) stack.pop();
      var parent = stack[stack.length - 1];
      while (stack.length < depth) {	/* malformed nesting: attach here */
        var ul = el('ul', 'chain'); parent.appendChild(ul); stack.push(ul); parent = ul;
      }
      var who = th >= 0 ? thrName(th) : 'unknown thread';
      var text = who + ': ' + stateLabel(st);
      if (st === 5 && cr.fx > 0) text = who + ': waiting on ' + futexName(cr.fx - 1);
      if (st === 2 && cr.pb > 0) text += ' by tid ' + (cr.pb - 1);
      text += ' for ' + fmtDur(cr.dur) + ' (from ' + fmtTime(cr.from) + ')' + (unc ? ' [uncertain]' : '');
      var item = el('li', depth === 1 ? 'holder' : null, text);
      item.setAttribute('data-depth', String(depth));
      item.setAttribute('data-state', STATES[st] ? STATES[st].name : 'unknown');
      if (th >= 0) item.setAttribute('data-tid', String(threads[th].tid));
      parent.appendChild(item);
      var sub = el('ul', 'chain'); item.appendChild(sub); stack.push(sub);
      if (th >= 0 && laneOfThread[th] !== undefined)
        rects.push({ lane: laneOfThread[th], from: cr.from, to: cr.from + cr.dur, main: false });
    });
    if (!crows.length) root.appendChild(el('li', null, 'No chain rows for this block.'));
    box.appendChild(root);
    /* stack */
    box.appendChild(el('h3', null, 'Stack at the switch-out'));
    if (B.stack[b] >= 0) box.appendChild(framesList(B.stack[b]));
    else box.appendChild(el('p', 'hint', 'No stack recorded for this block.'));
    hl = { block: b, rects: rects };
    redraw();
  }

  /* for tests and for users' consoles: read-only handles */
  window.waitchainReport = {
    view: function () { return { t0: view.t0, t1: view.t1, span: SPAN }; },
    setView: setView,
    lanes: function () { return lanes.map(function (l) { return { tid: threads[l.th].tid, kind: l.kind, n: l.n }; }); },
    /* ns per state name of lane I, summed from the decoded intervals */
    laneStats: function (i) {
      var l = lanes[i], out = {};
      for (var k = 0; k < l.n; k++) {
        var nm = STATES[l.states[k]].name;
        out[nm] = (out[nm] || 0) + (l.starts[k + 1] - l.starts[k]);
      }
      return out;
    },
    blocks: function () { return NB; },
    blockAt: function (i) { return { id: B.id[i], start: B.start[i], dur: B.dur[i], lane: B.lane[i], uncertain: B.unc[i] }; },
    /* global-mutex blocks of vCPU lanes marked uncertain (drawn outlined) */
    uncertainVcpuBlocks: function () { var n = 0; for (var i = 0; i < NB; i++) if (B.unc[i] && lanes[B.lane[i]].kind === 'vcpu') n++; return n; },
    blockInfo: function (id) {
      for (var i = 0; i < NB; i++) if (B.id[i] === id) return { start: B.start[i], dur: B.dur[i], lane: B.lane[i] };
      return null;
    },
    /* rectangles highlighted for the selected block (0 = none) */
    highlighted: function () { return hl ? hl.rects.length : 0; },
    /* durations (ms) of the last frames drawn, for bench/report_load.mjs */
    drawTimes: function () { return drawMs.slice(); },
    intervals: function () { return lanes.reduce(function (a, l) { return a + l.n; }, 0); },
    /* canvas-relative CSS pixel of the middle of block ID's mark, or null */
    blockPoint: function (id) {
      var b = -1;
      for (var i = 0; i < NB; i++) if (B.id[i] === id) { b = i; break; }
      if (b < 0) return null;
      var x = t2x(B.start[b] + B.dur[b] / 2);
      return { x: x, y: AXIS_H + B.lane[b] * LANE_H + MARK_Y + MARK_H / 2, lane: B.lane[b] };
    }
  };
  if (D.view && D.view[1] > D.view[0]) { view.t0 = D.view[0]; view.t1 = D.view[1]; clampView(); }
  resize();
  perf.mark('wc-ready');
  document.body.setAttribute('data-ready', '1');
})();
