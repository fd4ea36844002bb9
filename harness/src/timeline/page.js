// The timeline page: draws one trial on a canvas from the JSON in #timeline-data.
// Hand-written, no libraries. Lanes: the tester's on top, then one per peer. Times are run
// times in microseconds.
(function () {
  'use strict';
  var loadStart = performance.now();
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var meta = data.meta;

  // ---- geometry and colours --------------------------------------------------------------
  var AXIS_H = 26;
  var TESTER_H = 44;
  var LANE_H = 52;
  var LANE_GAP = 6;
  var LABEL_W = 76;
  var RIGHT_PAD = 14;
  var BOTTOM_PAD = 10;
  var LONG_DELAY_US = 100000; // slower than any short delay of the network (27 ms)
  var DETAIL_LIMIT = 1500; // arrowheads only when fewer RPCs are in view
  // More RPCs than this in view are drawn as traffic: per peer, the calls it sent per column of
  // pixels, stacked by method, with the lost ones on top in dark red; slow deliveries keep their
  // own arrows while there are few of them.
  var AGGREGATE_LIMIT = 5000;
  var TRAFFIC_PX = 2;
  var HOVER_PX = 5;
  var KEY_H = 20; // a key's header row in the history
  var CLIENT_H = 26; // a client's row in the history

  var ROLE_FILL = ['#c9dcf2', '#f6c35f', '#4fae5a', '#3a3f4b'];
  var ROLE_NAME = ['follower', 'candidate', 'leader', 'down'];
  var KIND_STYLE = {
    begin: ['#2f6fd6', 'flag'],
    connect: ['#1a7f37', 'up'],
    disconnect: ['#d1242f', 'down'],
    crash: ['#111111', 'cross'],
    start: ['#2f6fd6', 'dot'],
    check: ['#8250df', 'diamond'],
    warning: ['#d4760a', 'bang'],
    info: ['#7a8294', 'tick'],
    peer: ['#7a8294', 'tick']
  };
  var TOPIC_COLOUR = {
    timer: '#8a93a6', vote: '#c85a1c', leader: '#1a7f37', term: '#8250df',
    append: '#2f6fd6', apply: '#0b8f8f', persist: '#6b5b3e', error: '#d1242f',
    warn: '#d4760a', info: '#7a8294', test: '#2f6fd6'
  };
  var METHOD_COLOURS = ['#2f6fd6', '#d0642a', '#8250df', '#0b8f8f', '#b5338a', '#6b7a12'];
  var LONG_COLOUR = '#d1242f';

  // ---- data prepared for drawing -----------------------------------------------------------
  // The checked history of client calls (key/value tests), if any: per key (part), one row per
  // client, each operation a bar from call to return, the linearization as points.
  var hist = data.history || null;
  var histEnd = 0;
  var orderAxis = !!hist && hist.axis === 'order';
  var histParts = hist ? hist.parts.map(function (part, pi) {
    var ops = part.ops.map(function (o, i) {
      // [client, call, return (-1: unknown), index in the history]
      return { part: pi, pos: i, client: o[0], call: o[1], ret: o[2] < 0 ? null : o[2], index: o[3],
        desc: part.descs[i], lin: -1, at: 0, before: '', after: '', stuck: false, candidate: false };
    });
    part.lin.forEach(function (l, k) {
      // [op, point, state before, state after]
      var op = ops[l[0]];
      if (!op) return;
      op.lin = k; op.at = l[1]; op.before = hist.states[l[2]]; op.after = hist.states[l[3]];
    });
    var stuck = part.stuck;
    if (stuck && ops[stuck.op]) {
      ops[stuck.op].stuck = true;
      stuck.candidates.forEach(function (c) { if (ops[c] && c !== stuck.op) ops[c].candidate = true; });
    }
    var clients = [], rows = {};
    ops.forEach(function (op) {
      if (!rows[op.client]) { rows[op.client] = []; clients.push(op.client); }
      rows[op.client].push(op);
      histEnd = Math.max(histEnd, op.ret === null ? op.call : op.ret);
    });
    clients.sort(function (a, b) { return a - b; });
    // Per row, by call time, with the longest known bar to find what reaches into the view.
    var longest = 0;
    clients.forEach(function (c) {
      rows[c].sort(function (a, b) { return a.call - b.call; });
      rows[c].forEach(function (op) { if (op.ret !== null) longest = Math.max(longest, op.ret - op.call); });
    });
    return { key: part.key, verdict: part.verdict, ops: ops, clients: clients, rows: rows, longest: longest,
      stuck: stuck && ops[stuck.op] ? stuck : null, linCount: part.lin.length,
      path: part.lin.map(function (l) { return ops[l[0]]; }).filter(function (op) { return !!op; }) };
  }) : [];
  // Which key the history rows show: a part's position, or -1 for every key.
  var histShown = -1;
  (function () {
    var rows = 0, bad = -1;
    histParts.forEach(function (part, i) {
      rows += part.clients.length;
      if (bad < 0 && part.verdict === 'not linearizable') bad = i;
    });
    if (bad >= 0) histShown = bad;
    else if (rows > 60 && histParts.length) histShown = 0;
  })();
  var histStuck = histShown >= 0 && histParts[histShown].stuck ? histParts[histShown] : null;
  var end = Math.max(meta.end, histEnd, 1);
  // The states the run ended in are drawn a little past its end, so a change at the very end
  // (a failing check's last look) still shows.
  var TAIL = Math.max(end * 0.03, 1000);
  var peers = meta.peers;
  var failure = data.failure;
  var spansBy = [], eventsBy = [], samplesBy = [], appliesBy = [];
  for (var p = 0; p < peers; p++) { spansBy.push([]); eventsBy.push([]); samplesBy.push([]); appliesBy.push([]); }
  var testerEvents = [];
  var markedSpan = new Set(failure ? failure.spans : []);
  var markedEvent = new Set(failure ? failure.events : []);
  var markedRpcs = failure ? failure.rpcs : [];
  // The monitor's evidence: [at, [peers], text].
  var evidence = failure ? failure.evidence : [];
  data.spans.forEach(function (s, i) {
    // [peer, from, to, term, role, guessed]
    if (s[0] < peers) spansBy[s[0]].push({ from: s[1], to: s[2], term: s[3], role: s[4], guessed: s[5] === 1, marked: markedSpan.has(i) });
  });
  data.events.forEach(function (e, i) {
    // [at, peer (-1: tester), topic, kind]
    var ev = { at: e[0], peer: e[1], topic: data.topics[e[2]], kind: data.kinds[e[3]], line: data.lines[i], marked: markedEvent.has(i) };
    if (e[1] < 0) testerEvents.push(ev); else if (e[1] < peers) eventsBy[e[1]].push(ev);
  });
  data.samples.forEach(function (s) { if (s[1] < peers) samplesBy[s[1]].push({ at: s[0], term: s[2], leader: s[3] === 1 }); });
  var maxIndex = 0;
  data.applies.forEach(function (a) {
    if (a[1] < peers) appliesBy[a[1]].push({ at: a[0], index: a[2] });
    maxIndex = Math.max(maxIndex, a[2]);
  });
  // RPCs: [from, to, method, sent, delivered (-1: never), done, outcome], sorted by sent.
  var rpcs = data.rpcs;
  var maxRpcSpan = 0;
  var methodCount = data.methods.map(function () { return 0; });
  for (var r = 0; r < rpcs.length; r++) {
    maxRpcSpan = Math.max(maxRpcSpan, rpcs[r][5] - rpcs[r][3]);
    methodCount[rpcs[r][2]]++;
  }
  var outcomeLost = data.outcomeLost;

  // ---- view state -----------------------------------------------------------------------
  var view = { start: 0, end: end };
  var hidden = new Set();
  var methodOn = data.methods.map(function () { return true; });
  var showReplies = false;
  var lostOnly = false;
  var lanes = [];
  var width = 0, height = 0;
  var lastDrawnRpcs = [];
  var lastDraw = { ms: 0, rpcs: 0, aggregated: false };
  var aggregated = false;

  var container = document.getElementById('view');
  var canvas = document.getElementById('canvas');
  var ctx = canvas.getContext('2d');
  var tooltip = document.getElementById('tooltip');
  var marker = document.getElementById('failure-marker');
  var status = document.getElementById('status');

  function plotLeft() { return LABEL_W; }
  function plotWidth() { return Math.max(10, width - LABEL_W - RIGHT_PAD); }
  function xOf(t) { return plotLeft() + (t - view.start) / (view.end - view.start) * plotWidth(); }
  function tOf(x) { return view.start + (x - plotLeft()) / plotWidth() * (view.end - view.start); }
  function fmtTime(us, span) {
    if (orderAxis) return '#' + Math.round(us / 1000);
    var digits = span === undefined ? 6 : Math.max(0, Math.min(6, Math.ceil(-Math.log10(span / 1e6)) + 1));
    return (us / 1e6).toFixed(digits) + 's';
  }
  function peerName(p) { return 'S' + p; }

  // First index whose key (given by get) is >= t, in a list sorted by that key.
  function lowerBound(list, t, get) {
    var lo = 0, hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (get(list[mid]) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  var atOf = function (e) { return e.at; };
  var toOf = function (s) { return s.to; };
  var sentOf = function (rpc) { return rpc[3]; };

  // ---- layout -----------------------------------------------------------------------------
  function layout() {
    width = Math.max(480, container.clientWidth);
    lanes = [];
    var y = AXIS_H;
    // A history on its own has no tester lane.
    if (peers > 0 || testerEvents.length || !hist) {
      lanes.push({ kind: 'tester', y: AXIS_H, h: TESTER_H });
      y += TESTER_H + LANE_GAP;
    }
    for (var p = 0; p < peers; p++) {
      if (hidden.has(p)) continue;
      lanes.push({ kind: 'peer', peer: p, y: y, h: LANE_H });
      y += LANE_H + LANE_GAP;
    }
    histParts.forEach(function (part, pi) {
      if (histShown >= 0 && histShown !== pi) return;
      lanes.push({ kind: 'key', part: pi, y: y, h: KEY_H });
      y += KEY_H;
      part.clients.forEach(function (c) {
        lanes.push({ kind: 'client', part: pi, client: c, y: y, h: CLIENT_H });
        y += CLIENT_H;
      });
      y += LANE_GAP;
    });
    height = y + BOTTOM_PAD;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    container.style.height = height + 'px';
    buildLabels();
  }

  function laneOf(p) {
    for (var i = 0; i < lanes.length; i++) if (lanes[i].peer === p) return lanes[i];
    return null;
  }

  function buildLabels() {
    container.querySelectorAll('.lane-label').forEach(function (el) { el.remove(); });
    lanes.forEach(function (lane) {
      var el = document.createElement('div');
      el.className = 'lane-label';
      el.style.top = lane.y + 'px';
      el.style.height = lane.h + 'px';
      if (lane.kind === 'key' || lane.kind === 'client') {
        var part = histParts[lane.part];
        if (lane.kind === 'key') {
          el.classList.add('key');
          if (part.verdict === 'not linearizable') el.classList.add('bad');
          el.textContent = part.key === '' ? 'history' : 'key ' + part.key;
          el.title = keyTitle(part);
        } else {
          el.classList.add('client');
          el.setAttribute('data-client', String(lane.client));
          el.textContent = 'client ' + lane.client;
        }
        container.appendChild(el);
        return;
      }
      if (lane.kind === 'tester') {
        el.classList.add('tester');
        el.innerHTML = 'tester<small>its events</small>';
      } else {
        el.setAttribute('data-peer', String(lane.peer));
        el.textContent = peerName(lane.peer);
        var small = document.createElement('small');
        small.textContent = 'click: hide';
        el.appendChild(small);
        if (failure && failure.peers.indexOf(lane.peer) >= 0) el.classList.add('named');
        el.title = 'Hide ' + peerName(lane.peer) + ' and its RPCs';
        el.addEventListener('click', function () { hidden.add(lane.peer); refreshHidden(); });
      }
      container.appendChild(el);
    });
  }

  function refreshHidden() {
    var bar = document.getElementById('hidden-peers');
    bar.textContent = '';
    Array.from(hidden).sort(function (a, b) { return a - b; }).forEach(function (p) {
      var chip = document.createElement('span');
      chip.className = 'chip';
      chip.textContent = 'show ' + peerName(p);
      chip.addEventListener('click', function () { hidden.delete(p); refreshHidden(); });
      bar.appendChild(chip);
    });
    layout();
    draw();
  }

  // ---- drawing ----------------------------------------------------------------------------
  function niceStep(span, px) {
    var target = span / Math.max(1, px / 110);
    if (orderAxis) target = Math.max(target, 1000);
    var pow = Math.pow(10, Math.floor(Math.log10(target)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * pow >= target) return steps[i] * pow;
    return 10 * pow;
  }

  function drawAxis() {
    var span = view.end - view.start;
    var step = niceStep(span, plotWidth());
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, AXIS_H);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    var first = Math.ceil(view.start / step) * step;
    for (var t = first; t <= view.end; t += step) {
      var x = xOf(t);
      ctx.strokeStyle = '#e6e9ef';
      ctx.beginPath(); ctx.moveTo(x + 0.5, AXIS_H - 4); ctx.lineTo(x + 0.5, height); ctx.stroke();
      ctx.fillStyle = '#5b6475';
      ctx.fillText(fmtTime(t, step), x, AXIS_H / 2);
    }
  }

  function drawEnd() {
    if (end < view.start || end > view.end) return;
    var x = Math.round(xOf(end)) + 0.5;
    ctx.strokeStyle = '#5b6475';
    ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x, height - BOTTOM_PAD); ctx.stroke();
    ctx.fillStyle = '#5b6475';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.fillText('end', x + 3, AXIS_H - 6);
  }

  function drawClusters() {
    data.clusters.forEach(function (c, i) {
      if (i === 0 && c.at <= view.start) return;
      if (c.at < view.start || c.at > view.end) return;
      var x = Math.round(xOf(c.at)) + 0.5;
      ctx.save();
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = '#7a8294';
      ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x, height - BOTTOM_PAD); ctx.stroke();
      ctx.restore();
    });
  }

  var cutPattern = null;
  function hatch() {
    if (cutPattern) return cutPattern;
    var c = document.createElement('canvas');
    c.width = 8; c.height = 8;
    var g = c.getContext('2d');
    g.strokeStyle = 'rgba(209,36,47,0.85)';
    g.lineWidth = 2;
    g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.moveTo(-2, 2); g.lineTo(2, -2); g.moveTo(6, 10); g.lineTo(10, 6); g.stroke();
    cutPattern = ctx.createPattern(c, 'repeat');
    return cutPattern;
  }

  function drawPeerLane(lane) {
    var p = lane.peer;
    var top = lane.y, h = lane.h;
    var left = plotLeft(), right = plotLeft() + plotWidth();
    ctx.fillStyle = '#f4f6fa';
    ctx.fillRect(left, top, right - left, h);
    // Role bands.
    var spans = spansBy[p];
    var bandTop = top + 10, bandH = h - 20;
    if (xOf(end) < right) {
      ctx.fillStyle = '#e9ecf1';
      ctx.fillRect(Math.max(left, xOf(end)), top, right - Math.max(left, xOf(end)), h);
    }
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    for (var i = lowerBound(spans, view.start, toOf); i < spans.length; i++) {
      var s = spans[i];
      if (s.from > view.end) break;
      var x0 = Math.max(left, xOf(s.from)), x1 = Math.min(right, xOf(s.to >= end ? end + TAIL : s.to));
      // A crash and restart at one instant still shows, as a thin dark bar.
      if (s.role === 3 && x1 - x0 < 3) { x0 -= 1.5; x1 = x0 + 3; }
      if (x1 - x0 < 0.2) continue;
      ctx.fillStyle = ROLE_FILL[s.role];
      ctx.fillRect(x0, bandTop, Math.max(1, x1 - x0), bandH);
      if (x1 - x0 > 26) {
        ctx.fillStyle = s.role === 3 ? '#e8eaef' : (s.role === 2 ? '#ffffff' : '#1d2330');
        var text = s.role === 3 ? 'down' : 'T' + s.term + (s.guessed ? '?' : '');
        if (x1 - x0 > 90 && s.role !== 3) text += ' ' + ROLE_NAME[s.role];
        ctx.fillText(text, x0 + 4, bandTop + bandH / 2);
      }
      if (s.marked) {
        ctx.strokeStyle = '#d1242f';
        ctx.lineWidth = 2.5;
        ctx.strokeRect(x0 + 1, bandTop + 1, Math.max(1, x1 - x0 - 2), bandH - 2);
        ctx.lineWidth = 1;
      }
    }
    // Disconnections: a hatched strip along the bottom of the lane.
    data.cuts.forEach(function (c) {
      if (c[0] !== p || c[2] < view.start || c[1] > view.end) return;
      var x0 = Math.max(left, xOf(c[1])), x1 = Math.min(right, xOf(c[2]));
      ctx.fillStyle = hatch();
      ctx.fillRect(x0, top + h - 9, Math.max(1, x1 - x0), 8);
      if (x1 - x0 > 80) {
        ctx.fillStyle = '#d1242f';
        ctx.font = '10px system-ui, sans-serif';
        ctx.fillText('disconnected', x0 + 3, top + h - 15);
        ctx.font = '11px system-ui, sans-serif';
      }
    });
    // Apply index: a step line in the lower part of the band.
    var applies = appliesBy[p];
    if (applies.length && maxIndex > 0) {
      ctx.strokeStyle = '#0b8f8f';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      var started = false;
      var yOf = function (index) { return bandTop + bandH - 2 - index / maxIndex * (bandH - 6); };
      var j = Math.max(0, lowerBound(applies, view.start, atOf) - 1);
      for (; j < applies.length; j++) {
        var a = applies[j];
        var x = Math.max(left, Math.min(right, xOf(a.at)));
        if (!started) { ctx.moveTo(x, yOf(a.index)); started = true; }
        else ctx.lineTo(x, yOf(a.index));
        var next = j + 1 < applies.length ? applies[j + 1].at : Math.min(view.end, meta.end);
        ctx.lineTo(Math.max(left, Math.min(right, xOf(next))), yOf(a.index));
        if (a.at > view.end) break;
      }
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    // The peer's log events: ticks along the top edge, coloured by topic, one path per colour
    // and at most one tick per pixel and colour.
    var evs = eventsBy[p];
    var ticks = {}, seenTick = {};
    var marks = new Path2D(), anyMark = false;
    for (var k = lowerBound(evs, view.start, atOf); k < evs.length; k++) {
      var e = evs[k];
      if (e.at > view.end) break;
      var ex = Math.round(xOf(e.at)) + 0.5;
      if (e.marked) {
        marks.moveTo(ex - 5, top); marks.lineTo(ex + 5, top); marks.lineTo(ex, top + 9); marks.closePath();
        anyMark = true;
        continue;
      }
      var colour = TOPIC_COLOUR[e.topic] || '#7a8294';
      var seen = seenTick[colour] || (seenTick[colour] = { x: -10 });
      if (seen.x === ex) continue;
      seen.x = ex;
      var tick = ticks[colour] || (ticks[colour] = new Path2D());
      tick.moveTo(ex, top + 1); tick.lineTo(ex, top + 8);
    }
    Object.keys(ticks).forEach(function (colour) { ctx.strokeStyle = colour; ctx.stroke(ticks[colour]); });
    if (anyMark) { ctx.fillStyle = '#d1242f'; ctx.fill(marks); }
    // The tester's get_state samples: diamonds at the bottom edge, filled for "leader".
    var samples = samplesBy[p];
    var filled = new Path2D(), hollow = new Path2D();
    for (var m = lowerBound(samples, view.start, atOf); m < samples.length; m++) {
      var smp = samples[m];
      if (smp.at > view.end) break;
      var sx = xOf(smp.at), sy = top + h - 5;
      var d = smp.leader ? filled : hollow;
      d.moveTo(sx, sy - 4); d.lineTo(sx + 3.5, sy); d.lineTo(sx, sy + 4); d.lineTo(sx - 3.5, sy); d.closePath();
    }
    ctx.fillStyle = '#ffffff'; ctx.fill(hollow);
    ctx.fillStyle = '#1d2330'; ctx.fill(filled);
    ctx.strokeStyle = '#1d2330'; ctx.stroke(hollow); ctx.stroke(filled);
  }

  function glyph(shape, x, y, colour) {
    ctx.fillStyle = colour; ctx.strokeStyle = colour; ctx.lineWidth = 2;
    ctx.beginPath();
    switch (shape) {
      case 'flag': ctx.moveTo(x, y - 9); ctx.lineTo(x, y + 9); ctx.moveTo(x, y - 9); ctx.lineTo(x + 8, y - 5); ctx.lineTo(x, y - 1); ctx.stroke(); break;
      case 'up': ctx.moveTo(x - 5, y + 4); ctx.lineTo(x + 5, y + 4); ctx.lineTo(x, y - 5); ctx.closePath(); ctx.fill(); break;
      case 'down': ctx.moveTo(x - 5, y - 4); ctx.lineTo(x + 5, y - 4); ctx.lineTo(x, y + 5); ctx.closePath(); ctx.fill(); break;
      case 'cross': ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5); ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5); ctx.stroke(); break;
      case 'dot': ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill(); break;
      case 'diamond': ctx.moveTo(x, y - 6); ctx.lineTo(x + 5, y); ctx.lineTo(x, y + 6); ctx.lineTo(x - 5, y); ctx.closePath(); ctx.fill(); break;
      case 'bang': ctx.moveTo(x, y - 7); ctx.lineTo(x, y + 2); ctx.stroke(); ctx.beginPath(); ctx.arc(x, y + 6, 1.5, 0, 2 * Math.PI); ctx.fill(); break;
      default: ctx.lineWidth = 1; ctx.moveTo(x, y - 6); ctx.lineTo(x, y + 6); ctx.stroke();
    }
    ctx.lineWidth = 1;
  }

  function shortLabel(e) {
    var text = e.line.replace(/^\s*\S+\s+\S+\s+\S+\s+\S+\s+/, '');
    return text.length > 48 ? text.slice(0, 47) + '…' : text;
  }

  function drawTesterLane(lane) {
    var left = plotLeft(), right = plotLeft() + plotWidth();
    ctx.fillStyle = '#eef1f6';
    ctx.fillRect(left, lane.y, right - left, lane.h);
    var mid = lane.y + 14;
    var labelEnd = -1e9;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    for (var i = lowerBound(testerEvents, view.start, atOf); i < testerEvents.length; i++) {
      var e = testerEvents[i];
      if (e.at > view.end) break;
      var x = xOf(e.at);
      var style = KIND_STYLE[e.kind] || KIND_STYLE.info;
      if (e.marked) {
        ctx.fillStyle = 'rgba(209,36,47,0.18)';
        ctx.fillRect(x - 7, lane.y + 2, 14, lane.h - 4);
      }
      glyph(style[1], x, mid, style[0]);
      if (x > labelEnd + 4) {
        var text = shortLabel(e);
        var w = ctx.measureText(text).width;
        ctx.fillStyle = '#3b4252';
        ctx.fillText(text, x - 2, lane.y + lane.h - 9);
        labelEnd = x - 2 + w;
      }
    }
  }

  function methodColour(m) { return METHOD_COLOURS[m % METHOD_COLOURS.length]; }

  // The pieces an RPC is drawn with: [x0, y0, x1, y1, style, end mark], where style is the
  // method's number, 'long' for a slow delivery, and end mark 'head', 'cross' or ''.
  // - delivered: an arrow from the caller's lane at send time to the callee's at handling;
  // - never delivered (dropped, unreachable, server died): a short stub towards the callee,
  //   ending in a cross, at send time (the caller's wait shows on hover);
  // - the reply (with "replies" on): a dashed line back; a lost reply always shows as a stub
  //   from the callee ending in a cross.
  function rpcGeometry(q, a, b) {
    var ya = a.y + a.h / 2, yb = b.y + b.h / 2;
    var xs = xOf(q[3]);
    var out = [];
    var lost = outcomeLost[q[6]];
    var dir = yb > ya ? 1 : -1;
    var stub = Math.min(18, Math.abs(yb - ya) * 0.4);
    if (q[4] < 0) {
      if (lost) out.push([xs, ya, xs + 4, ya + dir * stub, q[2], 'cross']);
      else out.push([xs, ya, xOf(q[5]), ya, q[2], '']);
      return out;
    }
    var xe = xOf(q[4]);
    var slow = q[4] - q[3] > LONG_DELAY_US;
    out.push([xs, ya, xe, yb, slow ? 'long' : q[2], 'head']);
    if (lost) {
      out.push([xe, yb, xe + 4, yb - dir * stub, q[2], 'cross']);
    } else if (showReplies) {
      var replySlow = q[5] - q[4] > LONG_DELAY_US;
      out.push([xe, yb, xOf(q[5]), ya, replySlow ? 'long' : q[2], 'reply']);
    }
    return out;
  }

  function styleColour(style) { return style === 'long' ? LONG_COLOUR : methodColour(style); }

  function drawRpcs() {
    lastDrawnRpcs = [];
    if (!rpcs.length) return 0;
    var from = lowerBound(rpcs, view.start - maxRpcSpan, sentOf);
    var visible = [];
    for (var i = from; i < rpcs.length; i++) {
      var q = rpcs[i];
      if (q[3] > view.end) break;
      if (q[5] < view.start) continue;
      if (!methodOn[q[2]]) continue;
      if (hidden.has(q[0]) || hidden.has(q[1])) continue;
      if (lostOnly && !outcomeLost[q[6]]) continue;
      visible.push(i);
    }
    aggregated = visible.length > AGGREGATE_LIMIT;
    if (aggregated) {
      drawTraffic(visible);
      // Slow deliveries still show one by one, while there are few.
      visible = visible.filter(function (i) {
        var q = rpcs[i];
        return !outcomeLost[q[6]] && q[4] >= 0 && q[4] - q[3] > LONG_DELAY_US;
      });
      if (visible.length > DETAIL_LIMIT) visible = [];
    }
    lastDrawnRpcs = visible;
    var detail = visible.length <= DETAIL_LIMIT;
    // One path per style, so tens of thousands of arrows are a handful of strokes.
    var paths = {};
    function path(key) { return paths[key] || (paths[key] = new Path2D()); }
    var marks = [];
    // In a crowded view, pieces that would land on the same pixels are drawn once.
    var seen = aggregated ? new Set() : null;
    for (var k = 0; k < visible.length; k++) {
      var rpc = rpcs[visible[k]];
      var a = laneOf(rpc[0]), b = laneOf(rpc[1]);
      if (!a || !b) continue;
      var pieces = rpcGeometry(rpc, a, b);
      for (var j = 0; j < pieces.length; j++) {
        var g = pieces[j];
        var key = g[4] + (g[5] === 'reply' ? ':reply' : '');
        if (seen) {
          var spot = key + ':' + g[5] + ':' + Math.round(g[0]) + ':' + Math.round(g[1]) + ':' + Math.round(g[2]) + ':' + Math.round(g[3]);
          if (seen.has(spot)) continue;
          seen.add(spot);
        }
        var pth = path(key);
        pth.moveTo(g[0], g[1]);
        pth.lineTo(g[2], g[3]);
        if (g[5] === 'cross' || (detail && g[5] === 'head')) marks.push(g);
      }
    }
    var alpha = detail ? 0.85 : Math.max(0.15, Math.min(0.6, 600 / visible.length));
    Object.keys(paths).forEach(function (key) {
      var parts = key.split(':');
      ctx.strokeStyle = styleColour(parts[0] === 'long' ? 'long' : Number(parts[0]));
      ctx.globalAlpha = alpha;
      ctx.lineWidth = parts[0] === 'long' ? 1.8 : 1;
      ctx.setLineDash(parts[1] === 'reply' ? [3, 3] : []);
      ctx.stroke(paths[key]);
    });
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
    // Crosses and arrowheads, one path per colour.
    var crosses = {}, heads = {};
    marks.forEach(function (g) {
      var colour = styleColour(g[4]);
      if (g[5] === 'cross') {
        var c = crosses[colour] || (crosses[colour] = new Path2D());
        c.moveTo(g[2] - 3, g[3] - 3); c.lineTo(g[2] + 3, g[3] + 3);
        c.moveTo(g[2] + 3, g[3] - 3); c.lineTo(g[2] - 3, g[3] + 3);
        return;
      }
      var ang = Math.atan2(g[3] - g[1], g[2] - g[0]);
      var h = heads[colour] || (heads[colour] = new Path2D());
      h.moveTo(g[2], g[3]);
      h.lineTo(g[2] - 7 * Math.cos(ang - 0.4), g[3] - 7 * Math.sin(ang - 0.4));
      h.lineTo(g[2] - 7 * Math.cos(ang + 0.4), g[3] - 7 * Math.sin(ang + 0.4));
      h.closePath();
    });
    ctx.lineWidth = 1.5;
    Object.keys(crosses).forEach(function (colour) { ctx.strokeStyle = colour; ctx.stroke(crosses[colour]); });
    ctx.lineWidth = 1;
    Object.keys(heads).forEach(function (colour) { ctx.fillStyle = colour; ctx.fill(heads[colour]); });
    return aggregated ? lastTraffic.total : visible.length;
  }

  // Traffic: for each peer lane, the calls it sent in each column of TRAFFIC_PX pixels, as bars
  // rising from the bottom of its band, one colour per method, the lost ones on top.
  var LOST_COLOUR = '#8f0d1f';
  var lastTraffic = { total: 0, sent: {}, lost: {} };
  function drawTraffic(visible) {
    var cols = Math.ceil(plotWidth() / TRAFFIC_PX) + 1;
    var methods = data.methods.length;
    var counts = {}, lost = {}, sum = {};
    var row = function (table, key) { return table[key] || (table[key] = new Uint32Array(cols)); };
    var max = 1;
    for (var k = 0; k < visible.length; k++) {
      var q = rpcs[visible[k]];
      var c = Math.floor((xOf(q[3]) - plotLeft()) / TRAFFIC_PX);
      if (c < 0 || c >= cols) continue;
      if (outcomeLost[q[6]]) row(lost, q[0])[c]++;
      else row(counts, q[0] * methods + q[2])[c]++;
      var total = ++row(sum, q[0])[c];
      if (total > max) max = total;
    }
    lastTraffic = { total: visible.length, sent: sum, lost: lost };
    lanes.forEach(function (lane) {
      if (lane.kind !== 'peer') return;
      var base = new Float64Array(cols);
      var bandBottom = lane.y + lane.h - 10, room = (lane.h - 20) * 0.8;
      var layers = data.methods.map(function (m, mi) { return [counts[lane.peer * methods + mi], methodColour(mi)]; });
      layers.push([lost[lane.peer], LOST_COLOUR]);
      layers.forEach(function (layer) {
        var r = layer[0];
        if (!r) return;
        var bars = new Path2D();
        for (var c = 0; c < cols; c++) {
          if (!r[c]) continue;
          var hgt = r[c] / max * room;
          bars.rect(plotLeft() + c * TRAFFIC_PX, bandBottom - base[c] - hgt, TRAFFIC_PX, hgt);
          base[c] += hgt;
        }
        ctx.globalAlpha = 0.8;
        ctx.fillStyle = layer[1];
        ctx.fill(bars);
        ctx.globalAlpha = 1;
      });
    });
  }

  // The RPCs the monitor's evidence names: thick, in the failure's colour, whatever the filters.
  function drawMarkedRpcs() {
    ctx.save();
    ctx.strokeStyle = '#d1242f';
    ctx.fillStyle = '#d1242f';
    ctx.lineWidth = 3;
    markedRpcs.forEach(function (i) {
      var q = rpcs[i];
      var a = laneOf(q[0]), b = laneOf(q[1]);
      if (!a || !b || q[5] < view.start || q[3] > view.end) return;
      rpcGeometry(q, a, b).forEach(function (g) {
        ctx.beginPath(); ctx.moveTo(g[0], g[1]); ctx.lineTo(g[2], g[3]); ctx.stroke();
        if (g[5] === 'head') {
          var ang = Math.atan2(g[3] - g[1], g[2] - g[0]);
          ctx.beginPath();
          ctx.moveTo(g[2], g[3]);
          ctx.lineTo(g[2] - 10 * Math.cos(ang - 0.4), g[3] - 10 * Math.sin(ang - 0.4));
          ctx.lineTo(g[2] - 10 * Math.cos(ang + 0.4), g[3] - 10 * Math.sin(ang + 0.4));
          ctx.closePath();
          ctx.fill();
        }
      });
    });
    ctx.restore();
  }

  // Where an evidence line is drawn: a ring on the lane of the peer that acted (the first it
  // names), or the tester's lane if it names none.
  function evidenceSpots(e) {
    var lane = e[1].length ? laneOf(e[1][0]) : lanes[0];
    return lane ? [[xOf(e[0]), lane.y + lane.h / 2]] : [];
  }
  function drawEvidence() {
    ctx.save();
    ctx.strokeStyle = '#d1242f';
    ctx.lineWidth = 2.5;
    evidence.forEach(function (e) {
      if (e[0] < view.start || e[0] > view.end) return;
      evidenceSpots(e).forEach(function (p) {
        ctx.beginPath(); ctx.arc(p[0], p[1], 9, 0, 2 * Math.PI); ctx.stroke();
      });
    });
    ctx.restore();
  }

  // ---- the history of client calls -------------------------------------------------------
  var OP_FILL = { lin: '#cfe8d4', after: '#e4e7ee', unchecked: '#eef0f4', stuck: '#f8d0d3' };
  var OP_LINE = { lin: '#3d8f4a', after: '#9aa4b5', unchecked: '#c2c8d3', stuck: '#d1242f' };
  var POINT_COLOUR = '#1a5e2a';
  // The operation under the mouse: outlined, and the linearization up to it drawn bold.
  var hoverOp = null;
  function opClass(op) {
    if (op.stuck) return 'stuck';
    if (op.lin >= 0) return 'lin';
    return histParts[op.part].verdict === null ? 'unchecked' : 'after';
  }
  // Where an operation's bar ends: its return, or (outcome unknown) the end of the run.
  function opEnd(op) { return op.ret === null ? end : op.ret; }
  function keyName(part) { return part.key === '' ? 'the whole history' : 'key ' + part.key; }
  function keyTitle(part) {
    var what = part.verdict === null ? 'not checked (the check stopped at a violation in another key)' : part.verdict;
    return keyName(part) + ': ' + what + ', ' + part.ops.length + ' operations by ' + part.clients.length +
      ' client' + (part.clients.length === 1 ? '' : 's');
  }
  function drawKeyLane(lane) {
    var part = histParts[lane.part];
    var left = plotLeft(), right = plotLeft() + plotWidth();
    ctx.fillStyle = '#f1f4f9';
    ctx.fillRect(left, lane.y, right - left, lane.h);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    ctx.fillStyle = part.verdict === 'not linearizable' ? '#d1242f' : '#3b4252';
    var text = keyTitle(part);
    if (part.verdict === 'not linearizable') {
      text += ' · the longest linearizable prefix has ' + part.linCount + ' operations';
    } else if (part.verdict === 'linearizable') {
      text += ' · ● marks when each took effect';
    }
    ctx.fillText(text, left + 6, lane.y + lane.h / 2);
  }
  function drawClientLane(lane) {
    var part = histParts[lane.part];
    var row = part.rows[lane.client];
    var left = plotLeft(), right = plotLeft() + plotWidth();
    ctx.fillStyle = '#f8f9fc';
    ctx.fillRect(left, lane.y, right - left, lane.h);
    ctx.strokeStyle = '#e6e9ef';
    ctx.beginPath(); ctx.moveTo(left, lane.y + lane.h - 0.5); ctx.lineTo(right, lane.y + lane.h - 0.5); ctx.stroke();
    var top = lane.y + 3, h = lane.h - 6;
    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    var first = lowerBound(row, view.start - part.longest, function (op) { return op.call; });
    // Operations of unknown outcome reach the end of the run: always look at them.
    var list = row.slice(first).concat(row.slice(0, first).filter(function (op) { return op.ret === null; }));
    var drawn = 0;
    for (var i = 0; i < list.length; i++) {
      var op = list[i];
      if (op.call > view.end) continue;
      var stop = opEnd(op);
      if (stop < view.start) continue;
      var x0 = Math.max(left - 2, xOf(op.call)), x1 = Math.min(right + 2, xOf(stop));
      if (x1 - x0 < 2) { var mid = (x0 + x1) / 2; x0 = mid - 1; x1 = mid + 1; }
      var cls = opClass(op);
      ctx.fillStyle = OP_FILL[cls];
      ctx.fillRect(x0, top, x1 - x0, h);
      ctx.strokeStyle = OP_LINE[cls];
      ctx.lineWidth = cls === 'stuck' ? 2.5 : 1;
      if (op.ret === null) ctx.setLineDash([4, 3]);
      ctx.strokeRect(x0 + 0.5, top + 0.5, x1 - x0 - 1, h - 1);
      ctx.setLineDash([]);
      if (op.candidate) {
        ctx.strokeStyle = '#d4760a';
        ctx.lineWidth = 1.5;
        ctx.setLineDash([3, 2]);
        ctx.strokeRect(x0 - 1.5, top - 1.5, x1 - x0 + 3, h + 3);
        ctx.setLineDash([]);
      }
      ctx.lineWidth = 1;
      if (x1 - x0 > 28) {
        ctx.save();
        ctx.beginPath(); ctx.rect(x0 + 2, top, x1 - x0 - 4, h); ctx.clip();
        ctx.fillStyle = cls === 'stuck' ? '#8f0d1f' : '#1d2330';
        ctx.fillText(op.desc, Math.max(x0, left) + 4, top + h / 2);
        ctx.restore();
      }
      if (op.stuck) {
        // A cross where it had to have taken effect by.
        var xs = xOf(op.ret === null ? stop : op.ret);
        ctx.strokeStyle = '#d1242f';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(xs - 5, lane.y + 2); ctx.lineTo(xs + 5, lane.y + lane.h - 2);
        ctx.moveTo(xs + 5, lane.y + 2); ctx.lineTo(xs - 5, lane.y + lane.h - 2);
        ctx.stroke();
        ctx.lineWidth = 1;
      }
      if (op === hoverOp) {
        ctx.strokeStyle = '#1d2330';
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 1, top - 1, x1 - x0 + 2, h + 2);
        ctx.lineWidth = 1;
      }
      drawn++;
    }
    lane.drawn = drawn;
  }
  function clientLane(part, client) {
    for (var i = 0; i < lanes.length; i++) {
      if (lanes[i].kind === 'client' && lanes[i].part === part && lanes[i].client === client) return lanes[i];
    }
    return null;
  }
  // The linearization (or longest linearizable prefix) of each key shown: a point where each
  // operation took effect, joined in the order they did.
  var lastLinDrawn = 0;
  function drawLinearizations() {
    lastLinDrawn = 0;
    histParts.forEach(function (part, pi) {
      if (histShown >= 0 && histShown !== pi) return;
      if (!part.path.length) return;
      var line = new Path2D(), dots = new Path2D();
      var started = false, last = null;
      var from = Math.max(0, lowerBound(part.path, view.start, function (op) { return op.at; }) - 1);
      for (var k = from; k < part.path.length; k++) {
        var op = part.path[k];
        var lane = clientLane(pi, op.client);
        if (!lane) continue;
        var x = xOf(op.at), y = lane.y + lane.h / 2;
        if (!started) { line.moveTo(x, y); started = true; } else line.lineTo(x, y);
        if (op.at >= view.start && op.at <= view.end) {
          dots.moveTo(x + 3.2, y); dots.arc(x, y, 3.2, 0, 2 * Math.PI);
          lastLinDrawn++;
        }
        last = [x, y];
        if (op.at > view.end) break;
      }
      ctx.save();
      ctx.globalAlpha = 0.55;
      ctx.strokeStyle = POINT_COLOUR;
      ctx.lineWidth = 1.2;
      ctx.stroke(line);
      ctx.globalAlpha = 1;
      ctx.fillStyle = POINT_COLOUR;
      ctx.fill(dots);
      // Hovering an operation that took effect: the order up to it, bold.
      if (hoverOp && hoverOp.part === pi && hoverOp.lin >= 0) {
        var bold = new Path2D();
        for (var j = 0; j <= hoverOp.lin && j < part.path.length; j++) {
          var q = part.path[j], ql = clientLane(pi, q.client);
          if (!ql) continue;
          if (j === 0) bold.moveTo(xOf(q.at), ql.y + ql.h / 2); else bold.lineTo(xOf(q.at), ql.y + ql.h / 2);
        }
        ctx.strokeStyle = POINT_COLOUR;
        ctx.lineWidth = 2.5;
        ctx.stroke(bold);
        var hl = clientLane(pi, hoverOp.client);
        if (hl) {
          ctx.beginPath(); ctx.arc(xOf(hoverOp.at), hl.y + hl.h / 2, 6, 0, 2 * Math.PI); ctx.stroke();
        }
        ctx.lineWidth = 1;
      }
      // From the prefix's last point to the operation that could not be placed.
      if (part.stuck && last) {
        var stuckOp = part.ops[part.stuck.op];
        var sl = clientLane(pi, stuckOp.client);
        if (sl) {
          ctx.strokeStyle = '#d1242f';
          ctx.setLineDash([4, 3]);
          ctx.lineWidth = 1.5;
          ctx.beginPath(); ctx.moveTo(last[0], last[1]);
          ctx.lineTo(xOf(opEnd(stuckOp)), sl.y + sl.h / 2); ctx.stroke();
          ctx.setLineDash([]);
        }
      }
      ctx.restore();
    });
  }
  // The operation under (x, y) in a client's row, if any.
  function opAt(lane, x) {
    var part = histParts[lane.part];
    var row = part.rows[lane.client];
    var best = null, bestD = HOVER_PX + 1;
    row.forEach(function (op) {
      var x0 = xOf(op.call), x1 = Math.max(x0 + 2, xOf(opEnd(op)));
      var d = x < x0 ? x0 - x : (x > x1 ? x - x1 : 0);
      // Inside a bar beats near one; among bars, the latest called (drawn on top).
      if (d < bestD || (d === 0 && bestD === 0)) { bestD = d; best = op; }
    });
    return best;
  }
  function timeWords(us) { return orderAxis ? 'event ' + fmtTime(us) : fmtTime(us); }
  function opText(op) {
    var part = histParts[op.part];
    var lines = [op.desc + '   (client ' + op.client + ', ' + keyName(part) + ', #' + op.index + ' in the history)'];
    lines.push('called ' + timeWords(op.call) + ', ' + (op.ret === null ? 'outcome unknown (it may have taken effect at any time after its call, or never)' :
      'returned ' + timeWords(op.ret) + (orderAxis ? '' : '  (' + ((op.ret - op.call) / 1000).toFixed(3) + ' ms)')));
    var linear = part.verdict === 'linearizable';
    if (op.lin >= 0) {
      lines.push('took effect ' + (op.lin + 1) + ' of ' + part.linCount + ' in ' +
        (linear ? 'the linearization' : part.verdict === 'unknown' ? 'the longest linearizable prefix found before a limit ran out' :
          'the longest linearizable prefix') + ', at ' + timeWords(op.at));
      lines.push('state before: ' + op.before);
      lines.push('state after:  ' + op.after);
    } else if (op.stuck) {
      lines.push('COULD NOT BE PLACED: after the longest linearizable prefix (' + part.linCount +
        ' operations) the state is ' + part.stuck.state + ', and this operation cannot take effect there before it returns');
      var others = part.stuck.candidates.length - 1;
      lines.push(others > 0 ? 'nor can any of the ' + others + ' other operations that could go first (dashed orange)' :
        'and no other operation could take effect before it');
    } else if (op.candidate) {
      lines.push('could have gone right after the prefix instead, but cannot either: the state there is ' + part.stuck.state);
    } else if (part.verdict === null) {
      lines.push('this key was not checked: the check stopped at the violation in another key');
    } else if (part.verdict === 'unknown') {
      lines.push('not placed when a limit ran out: the search had placed ' + part.linCount + ' operations of this key so far');
    } else if (op.ret === null) {
      lines.push('not in ' + (linear ? 'the linearization' : 'the prefix') + ': in this order it never took effect');
    } else {
      lines.push('not in the longest linearizable prefix: it comes after the operation that could not be placed');
    }
    return lines.join('\n');
  }
  // Zoom to the operation that could not be placed, from the prefix's last point to its return.
  function toStuck() {
    if (!histStuck) return;
    var op = histStuck.ops[histStuck.stuck.op];
    var last = histStuck.path.length ? histStuck.path[histStuck.path.length - 1] : null;
    var from = Math.min(op.call, last ? last.call : op.call);
    var to = Math.max(opEnd(op), last ? opEnd(last) : 0);
    var pad = Math.max((to - from) * 0.6, orderAxis ? 5000 : 200);
    setView(from - pad, to + pad);
  }

  function placeMarker() {
    if (!failure) { marker.hidden = true; return; }
    var x = xOf(failure.at);
    var label = marker.querySelector('span');
    label.textContent = 'failed at ' + fmtTime(failure.at, view.end - view.start);
    // Keep the label inside the plot: to the left of the line near the right edge.
    var flip = x > plotLeft() + plotWidth() - 130;
    label.style.left = flip ? 'auto' : '4px';
    label.style.right = flip ? '4px' : 'auto';
    marker.setAttribute('data-at-us', String(failure.at));
    marker.setAttribute('data-x', x.toFixed(2));
    marker.style.left = x.toFixed(2) + 'px';
    marker.style.top = AXIS_H + 'px';
    marker.style.height = (height - AXIS_H - BOTTOM_PAD) + 'px';
    marker.hidden = failure.at < view.start || failure.at > view.end;
  }

  function draw() {
    var t = performance.now();
    ctx.clearRect(0, 0, width, height);
    drawAxis();
    lanes.forEach(function (lane) {
      if (lane.kind === 'tester') drawTesterLane(lane);
      else if (lane.kind === 'peer') drawPeerLane(lane);
      else if (lane.kind === 'key') drawKeyLane(lane);
      else drawClientLane(lane);
    });
    drawClusters();
    drawEnd();
    var n = drawRpcs();
    drawMarkedRpcs();
    drawEvidence();
    drawLinearizations();
    // Keep the plot's edges clean.
    ctx.fillStyle = '#fbfcfe';
    ctx.fillRect(0, AXIS_H, LABEL_W, height);
    ctx.fillRect(plotLeft() + plotWidth(), 0, RIGHT_PAD, height);
    placeMarker();
    lastDraw = { ms: performance.now() - t, rpcs: n, aggregated: aggregated };
    var what = peers === 0 && !rpcs.length ? '' : ' · ' + n + ' of ' + rpcs.length +
      ' RPCs in view' + (aggregated ? ' (drawn as traffic sent per peer, the lost in dark red; zoom in for arrows)' : '');
    status.textContent = 'view ' + fmtTime(view.start, view.end - view.start) + ' – ' +
      fmtTime(view.end, view.end - view.start) + what + ' · drawn in ' + lastDraw.ms.toFixed(1) + ' ms' +
      (hist ? ' · hover an operation for the states before and after it; s: zoom to the operation that could not be placed' : '');
    container.setAttribute('data-view-start-us', String(view.start));
    container.setAttribute('data-view-end-us', String(view.end));
    container.setAttribute('data-plot-left', String(plotLeft()));
    container.setAttribute('data-plot-width', String(plotWidth()));
  }

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  // ---- zoom and pan -----------------------------------------------------------------------
  var MIN_SPAN = 200;
  function setView(start, stop) {
    var span = Math.max(MIN_SPAN, stop - start);
    var slack = end * 0.05;
    span = Math.min(span, end + TAIL + 2 * slack);
    start = Math.max(-slack, Math.min(start, end + TAIL + slack - span));
    view.start = start;
    view.end = start + span;
    redraw();
  }
  function zoomAt(t, factor) { setView(t - (t - view.start) * factor, t + (view.end - t) * factor); }

  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    var rect = canvas.getBoundingClientRect();
    var x = e.clientX - rect.left;
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      var d = (e.shiftKey ? e.deltaY : e.deltaX) / plotWidth() * (view.end - view.start);
      setView(view.start + d, view.end + d);
    } else {
      zoomAt(tOf(x), Math.exp(e.deltaY * 0.0015));
    }
  }, { passive: false });

  var drag = null;
  canvas.addEventListener('mousedown', function (e) {
    drag = { x: e.clientX, start: view.start, end: view.end };
    canvas.classList.add('dragging');
  });
  window.addEventListener('mouseup', function () { drag = null; canvas.classList.remove('dragging'); });
  window.addEventListener('mousemove', function (e) {
    if (!drag) return;
    var d = (drag.x - e.clientX) / plotWidth() * (drag.end - drag.start);
    setView(drag.start + d, drag.end + d);
  });
  canvas.addEventListener('dblclick', function (e) {
    var rect = canvas.getBoundingClientRect();
    zoomAt(tOf(e.clientX - rect.left), e.shiftKey ? 2 : 0.5);
  });

  function fit() { setView(-end * 0.01, end + TAIL + end * 0.01); }
  // Around the failure: back to the earliest thing it marks (a span's start, an evidence
  // line, a log line), at least 20 ms and at most 3 s before it.
  function toFailure() {
    if (!failure) return;
    var earliest = failure.at;
    failure.spans.forEach(function (i) { earliest = Math.min(earliest, data.spans[i][1]); });
    failure.events.forEach(function (i) { earliest = Math.min(earliest, data.events[i][0]); });
    evidence.forEach(function (e) { earliest = Math.min(earliest, e[0]); });
    var before = failure.at - earliest;
    if (before <= 0) before = failure.at * 0.25;
    before = Math.min(3e6, Math.max(2e4, before * 1.1));
    setView(failure.at - before, failure.at + before * 0.25);
  }
  document.getElementById('fit').addEventListener('click', fit);
  document.getElementById('zoom-in').addEventListener('click', function () { zoomAt((view.start + view.end) / 2, 0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoomAt((view.start + view.end) / 2, 2); });
  var failButton = document.getElementById('to-failure');
  if (failure) failButton.addEventListener('click', toFailure); else failButton.hidden = true;
  window.addEventListener('keydown', function (e) {
    if (e.target && e.target.tagName === 'INPUT') return;
    var span = view.end - view.start;
    if (e.key === '+' || e.key === '=') zoomAt((view.start + view.end) / 2, 0.5);
    else if (e.key === '-') zoomAt((view.start + view.end) / 2, 2);
    else if (e.key === '0') fit();
    else if (e.key === 'f') toFailure();
    else if (e.key === 's') toStuck();
    else if (e.key === 'ArrowLeft') setView(view.start - span * 0.2, view.end - span * 0.2);
    else if (e.key === 'ArrowRight') setView(view.start + span * 0.2, view.end + span * 0.2);
  });

  // ---- hover ------------------------------------------------------------------------------
  function near(list, x, get) {
    // Every item within HOVER_PX of x, in a list sorted by time.
    var t0 = tOf(x - HOVER_PX), t1 = tOf(x + HOVER_PX);
    var out = [];
    for (var i = lowerBound(list, t0, get); i < list.length && get(list[i]) <= t1; i++) out.push(list[i]);
    return out;
  }
  function segmentDistance(px, py, x0, y0, x1, y1) {
    var dx = x1 - x0, dy = y1 - y0;
    var len = dx * dx + dy * dy;
    var u = len ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len)) : 0;
    var qx = x0 + u * dx - px, qy = y0 + u * dy - py;
    return Math.sqrt(qx * qx + qy * qy);
  }
  function rpcText(q) {
    var method = data.methods[q[2]];
    var lines = [method + '  ' + peerName(q[0]) + ' → ' + peerName(q[1]) + '  (' + data.outcomes[q[6]] + ')',
      'sent       ' + fmtTime(q[3])];
    if (q[4] >= 0) lines.push('handled    ' + fmtTime(q[4]) + '  (+' + ((q[4] - q[3]) / 1000).toFixed(1) + ' ms)');
    lines.push('done       ' + fmtTime(q[5]) + '  (+' + ((q[5] - q[3]) / 1000).toFixed(1) + ' ms after sending)');
    if (data.rpcDetails && data.rpcDetails[q.index]) lines.push(data.rpcDetails[q.index]);
    return lines.join('\n');
  }
  function rpcNear(x, y) {
    var best = null, bestD = HOVER_PX;
    for (var k = 0; k < lastDrawnRpcs.length; k++) {
      var q = rpcs[lastDrawnRpcs[k]];
      // Every piece of an RPC lies between its send and its end (stubs reach 4 px further).
      if (x < xOf(q[3]) - HOVER_PX || x > xOf(q[5]) + 4 + HOVER_PX) continue;
      var a = laneOf(q[0]), b = laneOf(q[1]);
      if (!a || !b) continue;
      var pieces = rpcGeometry(q, a, b);
      for (var j = 0; j < pieces.length; j++) {
        var g = pieces[j];
        var d = segmentDistance(x, y, g[0], g[1], g[2], g[3]);
        if (d < bestD) { bestD = d; best = lastDrawnRpcs[k]; }
      }
    }
    return best;
  }
  function hoverText(x, y) {
    if (x < plotLeft() || y < AXIS_H) return null;
    var proof = [];
    evidence.forEach(function (e) {
      evidenceSpots(e).forEach(function (p) {
        if (Math.abs(p[0] - x) <= 10 && Math.abs(p[1] - y) <= 10 && proof.indexOf(e[2]) < 0) proof.push(e[2]);
      });
    });
    if (proof.length) return 'evidence of the broken rule:\n' + proof.join('\n');
    var lane = null;
    for (var i = 0; i < lanes.length; i++) if (y >= lanes[i].y && y < lanes[i].y + lanes[i].h) lane = lanes[i];
    var rpc = rpcNear(x, y);
    if (rpc !== null) {
      var q = rpcs[rpc].slice();
      q.index = rpc;
      return rpcText(q);
    }
    if (!lane) return null;
    var t = tOf(x);
    if (lane.kind === 'key') return keyTitle(histParts[lane.part]);
    if (lane.kind === 'client') {
      var op = opAt(lane, x);
      hoverOp = op;
      return op ? opText(op) : null;
    }
    if (lane.kind === 'tester') {
      var evs = near(testerEvents, x, atOf);
      if (!evs.length) return null;
      return evs.slice(0, 8).map(function (e) { return e.line; }).join('\n') + (evs.length > 8 ? '\n… ' + (evs.length - 8) + ' more (zoom in)' : '');
    }
    var p = lane.peer;
    var out = [];
    if (aggregated && lastTraffic.sent[p]) {
      var col = Math.floor((x - plotLeft()) / TRAFFIC_PX);
      var sent = lastTraffic.sent[p][col] || 0;
      var lostHere = lastTraffic.lost[p] ? lastTraffic.lost[p][col] : 0;
      if (sent) {
        out.push(peerName(p) + ' sent ' + sent + ' RPC' + (sent === 1 ? '' : 's') +
          (lostHere ? ' (' + lostHere + ' lost)' : '') + ' in ' +
          fmtTime(tOf(plotLeft() + col * TRAFFIC_PX)) + ' – ' + fmtTime(tOf(plotLeft() + (col + 1) * TRAFFIC_PX)) +
          ' (zoom in to see each one)');
      }
    }
    var evp = near(eventsBy[p], x, atOf);
    evp.slice(0, 8).forEach(function (e) { out.push(e.line); });
    if (evp.length > 8) out.push('… ' + (evp.length - 8) + ' more log lines here (zoom in)');
    near(samplesBy[p], x, atOf).slice(0, 3).forEach(function (s) {
      out.push(fmtTime(s.at) + '  tester: ' + peerName(p) + '.get_state() = (term ' + s.term + ', ' + (s.leader ? 'leader' : 'not leader') + ')');
    });
    near(appliesBy[p], x, atOf).slice(0, 3).forEach(function (a) {
      out.push(fmtTime(a.at) + '  ' + peerName(p) + ' applied index ' + a.index);
    });
    var spans = spansBy[p];
    var si = lowerBound(spans, t, toOf);
    if (si < spans.length && spans[si].from <= t) {
      var s = spans[si];
      var what = s.role === 3 ? (s.from === s.to ? 'crashed and restarted at once' : 'down (crashed or not started)') :
        ROLE_NAME[s.role] + ' in term ' + s.term + (s.guessed ? ' (a guess: no message or check said the term)' : '');
      var how = { sampled: '  (as the tester\'s checks saw it)', inferred: '  (from its RPCs and the tester\'s checks)' }[meta.roles];
      out.push(peerName(p) + ': ' + what + ' from ' + fmtTime(s.from) + ' to ' + fmtTime(s.to) +
        (how && s.role !== 3 ? how : ''));
    }
    data.cuts.forEach(function (c) {
      if (c[0] === p && c[1] <= t && t < c[2]) out.push('disconnected by the tester from ' + fmtTime(c[1]) + ' to ' + fmtTime(c[2]));
    });
    return out.length ? out.join('\n') : null;
  }
  // Browsers deliver at most one mousemove per frame, and finding what is under the mouse
  // takes well under a millisecond, so the tooltip follows at once.
  canvas.addEventListener('mousemove', function (e) {
    if (drag) { tooltip.hidden = true; return; }
    var rect = canvas.getBoundingClientRect();
    var hovered = hoverOp;
    hoverOp = null;
    var text = hoverText(e.clientX - rect.left, e.clientY - rect.top);
    if (hoverOp !== hovered) redraw();
    if (!text) { tooltip.hidden = true; return; }
    tooltip.textContent = text;
    tooltip.hidden = false;
    var tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    var left = e.clientX + 14, top = e.clientY + 14;
    if (left + tw > window.innerWidth - 4) left = Math.max(4, e.clientX - tw - 14);
    if (top + th > window.innerHeight - 4) top = Math.max(4, e.clientY - th - 14);
    tooltip.style.left = left + 'px';
    tooltip.style.top = top + 'px';
  });
  canvas.addEventListener('mouseleave', function () {
    tooltip.hidden = true;
    if (hoverOp) { hoverOp = null; redraw(); }
  });

  // ---- controls ---------------------------------------------------------------------------
  function buildControls() {
    var box = document.getElementById('methods');
    if (!rpcs.length) {
      box.textContent = 'no RPC records in this trial';
      return;
    }
    data.methods.forEach(function (m, i) {
      var label = document.createElement('label');
      label.className = 'method';
      var input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = true;
      input.setAttribute('data-method', m);
      input.addEventListener('change', function () { methodOn[i] = input.checked; redraw(); });
      var sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = methodColour(i);
      label.appendChild(input);
      label.appendChild(sw);
      label.appendChild(document.createTextNode(m.replace(/^Raft\./, '') + ' (' + methodCount[i] + ')'));
      box.appendChild(label);
    });
    function toggle(text, initial, set) {
      var label = document.createElement('label');
      label.className = 'method';
      var input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = initial;
      input.addEventListener('change', function () { set(input.checked); redraw(); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(text));
      box.appendChild(label);
    }
    toggle('replies', showReplies, function (on) { showReplies = on; });
    toggle('lost only', lostOnly, function (on) { lostOnly = on; });
  }

  function buildHistoryControls() {
    if (!hist) return;
    document.getElementById('history-controls').hidden = false;
    if (peers === 0) {
      // A history on its own: no Raft legend, no RPC filters.
      document.querySelectorAll('#controls > .legend, #methods').forEach(function (el) { el.style.display = 'none'; });
    }
    var select = document.getElementById('history-key');
    var all = document.createElement('option');
    all.value = '-1';
    all.textContent = 'every key (' + histParts.length + ')';
    select.appendChild(all);
    histParts.forEach(function (part, i) {
      var o = document.createElement('option');
      o.value = String(i);
      o.textContent = (part.key === '' ? 'the whole history' : part.key) + ' — ' +
        (part.verdict === null ? 'not checked' : part.verdict) + ' (' + part.ops.length + ' ops)';
      select.appendChild(o);
    });
    select.value = String(histShown);
    select.addEventListener('change', function () {
      histShown = Number(select.value);
      histStuck = histShown >= 0 && histParts[histShown].stuck ? histParts[histShown] : null;
      stuckButton.hidden = !histStuck;
      layout();
      draw();
    });
    var stuckButton = document.getElementById('to-stuck');
    stuckButton.hidden = !histStuck;
    stuckButton.addEventListener('click', toStuck);
  }

  // ---- start ------------------------------------------------------------------------------
  buildControls();
  buildHistoryControls();
  layout();
  fit();
  // page.html#failure opens zoomed on the failure.
  if (location.hash === '#failure') toFailure();
  // page.html#stuck, and a history drawn on its own, open on the operation that could not be
  // placed.
  if (location.hash === '#stuck' || (hist && peers === 0 && location.hash === '')) toStuck();
  draw();
  window.addEventListener('resize', function () { layout(); draw(); });

  // A self-check the browser test reads from the DOM: what was drawn, where, and how fast.
  var check = {
    peers: peers,
    lanes: lanes.filter(function (l) { return l.kind === 'peer'; }).map(function (l) { return l.peer; }),
    failureAtUs: failure ? failure.at : null,
    failureX: failure ? xOf(failure.at) : null,
    viewStartUs: view.start,
    viewEndUs: view.end,
    plotLeft: plotLeft(),
    plotWidth: plotWidth(),
    rpcs: rpcs.length,
    rpcsDrawn: lastDraw.rpcs,
    evidence: evidence.length,
    markedRpcs: markedRpcs.length,
    markedSpans: markedSpan.size,
    events: data.events.length,
    drawMs: lastDraw.ms,
    history: hist ? historyCheck() : null,
    loadMs: performance.now() - loadStart
  };
  // page.html#measure: time the drawing and the hover search (synchronously, so the numbers
  // are in the DOM when a headless browser dumps it at the load event).
  if (location.hash === '#measure') {
    var time = function (fn, n) {
      var t0 = performance.now();
      for (var i = 0; i < n; i++) fn();
      return (performance.now() - t0) / n;
    };
    check.measure = {};
    fit();
    check.measure.fitDrawMs = time(draw, 5);
    check.measure.fitRpcsDrawn = lastDraw.rpcs;
    check.measure.fitAggregated = lastDraw.aggregated;
    var mid = failure ? failure.at : end / 2;
    var tenth = end / 10;
    setView(mid - tenth / 2, mid + tenth / 2);
    check.measure.tenthDrawMs = time(draw, 5);
    check.measure.tenthRpcsDrawn = lastDraw.rpcs;
    var busiest = lanes.length > 1 ? lanes[1] : lanes[0];
    check.measure.hoverMs = time(function () {
      hoverText(plotLeft() + plotWidth() / 2, busiest.y + busiest.h / 2);
    }, 20);
    fit();
    draw();
  }
  function historyCheck() {
    // What the history rows show: keys and clients, bars and points drawn, where the
    // operation that could not be placed is.
    var rows = lanes.filter(function (l) { return l.kind === 'client'; });
    var out = {
      axis: hist.axis,
      keys: histParts.length,
      shown: histShown,
      rows: rows.map(function (l) { return [histParts[l.part].key, l.client]; }),
      opsDrawn: rows.reduce(function (n, l) { return n + (l.drawn || 0); }, 0),
      pointsDrawn: lastLinDrawn,
      stuck: null
    };
    if (histStuck) {
      var op = histStuck.ops[histStuck.stuck.op];
      var lane = clientLane(histShown, op.client);
      out.stuck = { index: op.index, client: op.client, call: op.call, ret: op.ret,
        x0: xOf(op.call), x1: xOf(opEnd(op)), y: lane ? lane.y + lane.h / 2 : null,
        prefix: histStuck.linCount };
    }
    return out;
  }
  document.getElementById('selfcheck').textContent = JSON.stringify(check);
  document.body.setAttribute('data-ready', '1');

  // ---- self-test (page.html#selftest) ---------------------------------------------------
  // Drives the page the way a person does (wheel, hover, drag, clicks) with real DOM events
  // and writes what happened into #selftest, for the browser test to read.
  // A pause for the page to settle (timers rather than animation frames: a headless browser
  // dumping the DOM may draw no frames at all).
  function frames() {
    return new Promise(function (done) { setTimeout(done, 20); });
  }
  async function selfTest() {
    var out = {};
    var rect = canvas.getBoundingClientRect();
    var at = function (x, y) { return { clientX: rect.left + x, clientY: rect.top + y, bubbles: true, cancelable: true }; };
    // Wheel: zoom in around the failure (or the middle of the run), keeping it under the mouse.
    var t = failure ? failure.at : end / 2;
    var x = xOf(t);
    var span0 = view.end - view.start;
    canvas.dispatchEvent(new WheelEvent('wheel', Object.assign({ deltaY: -400 }, at(x, AXIS_H + 4))));
    await frames();
    out.zoomRatio = (view.end - view.start) / span0;
    out.zoomDriftPx = Math.abs(xOf(t) - x);
    // Hover: the tester's event nearest the failure shows its full log line.
    var near = null;
    testerEvents.forEach(function (e) {
      var inView = e.at >= view.start && e.at <= view.end;
      if (inView && (near === null || Math.abs(e.at - t) < Math.abs(near.at - t))) near = e;
    });
    if (near) {
      canvas.dispatchEvent(new MouseEvent('mousemove', at(xOf(near.at), lanes[0].y + 14)));
      await frames();
      out.hoverLine = near.line;
      out.hoverText = tooltip.hidden ? '' : tooltip.textContent;
    }
    canvas.dispatchEvent(new MouseEvent('mouseleave', at(0, 0)));
    // Drag: 100 px to the right shows 100 px worth of time earlier (the failure ends the run,
    // so there is no later time to show).
    var start0 = view.start, perPx = (view.end - view.start) / plotWidth();
    canvas.dispatchEvent(new MouseEvent('mousedown', at(200, AXIS_H + 20)));
    window.dispatchEvent(new MouseEvent('mousemove', at(300, AXIS_H + 20)));
    window.dispatchEvent(new MouseEvent('mouseup', at(300, AXIS_H + 20)));
    await frames();
    out.panPx = (start0 - view.start) / perPx;
    // Click a peer's label to hide it, then the chip to show it again.
    var count = function () { return container.querySelectorAll('.lane-label[data-peer]').length; };
    out.lanesBefore = count();
    var label = container.querySelector('.lane-label[data-peer]');
    if (label) {
      out.hiddenPeer = Number(label.getAttribute('data-peer'));
      label.click();
      await frames();
      out.lanesAfterHide = count();
      var chip = document.querySelector('#hidden-peers .chip');
      out.chip = chip ? chip.textContent : '';
      if (chip) chip.click();
      await frames();
      out.lanesAfterShow = count();
    }
    // Method filter: unchecking a method takes its arrows out of the view.
    fit();
    draw();
    out.rpcsDrawnAll = lastDraw.rpcs;
    var box = document.querySelector('input[data-method]');
    if (box) {
      box.click();
      draw();
      out.filteredMethod = box.getAttribute('data-method');
      out.rpcsDrawnFiltered = lastDraw.rpcs;
      out.rpcsOfMethod = methodCount[data.methods.indexOf(out.filteredMethod)];
      box.click();
    }
    // How long a whole-run draw and a draw around the failure take (reported, not judged).
    fit();
    var t0 = performance.now();
    for (var i = 0; i < 5; i++) draw();
    out.fitDrawMs = (performance.now() - t0) / 5;
    if (failure) {
      toFailure();
      t0 = performance.now();
      for (var j = 0; j < 5; j++) draw();
      out.failureDrawMs = (performance.now() - t0) / 5;
    }
    if (hist) out.history = await historySelfTest();
    out.done = true;
    document.getElementById('selftest').textContent = JSON.stringify(out);
  }
  // Hovers the operation that could not be placed and one that took effect, switches keys,
  // and reports what the page showed.
  async function historySelfTest() {
    var out = {};
    var rect = canvas.getBoundingClientRect();
    var at = function (x, y) { return { clientX: rect.left + x, clientY: rect.top + y, bubbles: true, cancelable: true }; };
    var hover = async function (op) {
      var lane = clientLane(op.part, op.client);
      var x0 = Math.max(plotLeft(), xOf(op.call)), x1 = Math.min(plotLeft() + plotWidth(), xOf(opEnd(op)));
      canvas.dispatchEvent(new MouseEvent('mousemove', at((x0 + x1) / 2, lane.y + lane.h / 2)));
      await frames();
      var text = tooltip.hidden ? '' : tooltip.textContent;
      canvas.dispatchEvent(new MouseEvent('mouseleave', at(0, 0)));
      return text;
    };
    if (histStuck) {
      toStuck();
      draw();
      var op = histStuck.ops[histStuck.stuck.op];
      out.stuckIndex = op.index;
      out.stuckText = await hover(op);
      // The last operation of the prefix: its states.
      var last = histStuck.path[histStuck.path.length - 1];
      if (last) {
        setView(last.call - (opEnd(last) - last.call), opEnd(last) + (opEnd(last) - last.call));
        draw();
        out.lastIndex = last.index;
        out.lastBefore = last.before;
        out.lastAfter = last.after;
        out.lastText = await hover(last);
      }
    }
    // Every key at once, then back.
    var select = document.getElementById('history-key');
    var before = select.value;
    select.value = '-1';
    select.dispatchEvent(new Event('change'));
    await frames();
    out.rowsAllKeys = container.querySelectorAll('.lane-label.client').length;
    select.value = before;
    select.dispatchEvent(new Event('change'));
    await frames();
    out.rowsShown = container.querySelectorAll('.lane-label.client').length;
    return out;
  }
  if (location.hash === '#selftest') {
    selfTest().catch(function (e) { console.error('self-test failed: ' + (e && e.stack || e)); });
  }
})();
