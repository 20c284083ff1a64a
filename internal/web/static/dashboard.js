// The dashboard's page script: draws the charts the server described
// (#chart-data, see charts.go) with ECharts, and makes tables sortable and
// narrow-screen friendly. The server has decided every figure, unit, gap
// and colour; this file only formats and draws.
(function () {
  'use strict';

  var dataEl = document.getElementById('chart-data');
  var page = dataEl ? JSON.parse(dataEl.textContent) : { lang: document.documentElement.lang === 'en' ? 'en' : 'zh', charts: [], words: {} };
  var W = page.words || {};
  var zh = page.lang !== 'en';

  // --- formatting -----------------------------------------------------------

  function grouped(n, decimals) {
    return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  // compact writes an axis number briefly: 12,000 → 1.2万 (zh) or 12k (en).
  function compact(v) {
    var a = Math.abs(v);
    var trim = function (x) { return String(+x.toFixed(2)); };
    if (zh) {
      if (a >= 1e8) return trim(v / 1e8) + W.yi;
      if (a >= 1e4) return trim(v / 1e4) + W.wan;
      return trim(v);
    }
    if (a >= 1e6) return trim(v / 1e6) + 'M';
    if (a >= 1e3) return trim(v / 1e3) + 'k';
    return trim(v);
  }

  // duration writes ms as the table does: 33.6 s, 12 min 5 s, 9 h 20 min.
  function duration(ms, short) {
    var sign = ms < 0 ? '-' : '';
    var s = Math.abs(ms) / 1000;
    if (short) { // axis ticks are whole units (see msScale)
      if (s < 60) return sign + String(+s.toFixed(1)) + ' ' + W.unit_s;
      if (s < 3600) {
        var m = Math.floor(s / 60), rs = Math.round(s % 60);
        return sign + m + ' ' + W.unit_min + (rs ? ' ' + rs + ' ' + W.unit_s : '');
      }
      var h = Math.floor(s / 3600), rm = Math.round((s % 3600) / 60);
      return sign + grouped(h, 0) + ' ' + W.unit_h + (rm ? ' ' + rm + ' ' + W.unit_min : '');
    }
    if (Math.round(s * 10) / 10 < 60) return sign + (Math.round(s * 10) / 10).toFixed(1) + ' ' + W.unit_s;
    if (Math.round(s) < 3600) {
      var n = Math.round(s);
      return sign + Math.floor(n / 60) + ' ' + W.unit_min + ' ' + (n % 60) + ' ' + W.unit_s;
    }
    var mins = Math.round(s / 60);
    return sign + grouped(Math.floor(mins / 60), 0) + ' ' + W.unit_h + ' ' + (mins % 60) + ' ' + W.unit_min;
  }

  // fmt formats a value of a unit, in full (tooltips, labels) or short (axes).
  function fmt(unit, v, short) {
    if (v === null || v === undefined || isNaN(v)) return W.no_value;
    switch (unit) {
      case 'int': return short ? compact(v) : grouped(Math.round(v), 0);
      case 'fen': return (v < 0 ? '-' : '') + '¥' + (short ? compact(Math.abs(v) / 100) : grouped(Math.abs(v) / 100, 2));
      case 'ratio': return short ? String(+(v * 100).toFixed(1)) + '%' : (v * 100).toFixed(1) + '%';
      case 'ms': return duration(v, short);
    }
    return String(v);
  }

  // msScale picks a tick interval of whole seconds, minutes or hours.
  var msSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
    .map(function (s) { return s * 1000; });
  function msScale(series) {
    var top = 0;
    series.forEach(function (s) { s.data.forEach(function (v) { if (v !== null && v > top) top = v; }); });
    var step = msSteps[msSteps.length - 1];
    for (var i = 0; i < msSteps.length; i++) {
      if (top / msSteps[i] <= 5) { step = msSteps[i]; break; }
    }
    return { interval: step, max: Math.max(step, Math.ceil(top / step) * step), min: 0 };
  }

  function valueAxis(spec) {
    var ax = {
      type: 'value',
      axisLabel: { formatter: function (v) { return fmt(spec.unit, v, true); }, hideOverlap: true },
      splitLine: { lineStyle: { color: '#eaeef2' } }
    };
    if (spec.unit === 'int') ax.minInterval = 1; // counts have whole ticks
    if (spec.unit === 'fen') ax.minInterval = 1;
    if (spec.unit === 'ms') Object.assign(ax, msScale(spec.series));
    // All zero: a scale of whole units (1, ¥1, 1 %), not of the smallest.
    var top = 0;
    spec.series.forEach(function (s) { s.data.forEach(function (v) { if (v !== null && Math.abs(v) > top) top = Math.abs(v); }); });
    if (top === 0 && spec.unit !== 'ms') {
      ax.min = 0;
      ax.max = { int: 1, fen: 100, ratio: 0.01 }[spec.unit] || 1;
    }
    return ax;
  }

  // esc makes a name safe inside a tooltip's HTML: names are the
  // merchant's data (steps, groups), which anyone with the SDK token sets.
  function esc(s) { return window.echarts ? echarts.format.encodeHTML(String(s)) : ''; }

  function shortDay(d) { return /^\d{4}-\d{2}-\d{2}$/.test(d) ? d.slice(5) : d; }

  // --- charts -----------------------------------------------------------------

  function lineOption(spec) {
    var legend = {};
    spec.series.forEach(function (s) { legend[s.name] = !s.hidden; });
    var last = spec.x.length - 1;
    var series = spec.series.map(function (s, i) {
      var out = {
        type: 'line', name: s.name, data: s.data, connectNulls: false,
        showSymbol: true, symbolSize: 5, lineStyle: { width: 2 }, itemStyle: { color: s.color },
        emphasis: { focus: 'series' }
      };
      if (i === 0 && spec.partial && last >= 1) {
        out.markArea = {
          silent: true, itemStyle: { color: 'rgba(101,109,118,0.08)' },
          label: { show: true, position: 'insideTop', color: '#656d76', formatter: W.partial },
          data: [[{ xAxis: spec.x[last - 1] }, { xAxis: spec.x[last] }]]
        };
      }
      return out;
    });
    return {
      animation: false,
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: function (v) { return fmt(spec.unit, v); }, confine: true },
      legend: { type: 'scroll', top: 0, selected: legend },
      xAxis: { type: 'category', data: spec.x, boundaryGap: false, axisLabel: { formatter: shortDay, hideOverlap: true } },
      yAxis: valueAxis(spec),
      series: series
    };
  }

  function barOption(spec) {
    var s = spec.series[0];
    return {
      animation: false,
      grid: { left: 8, right: 72, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'item', valueFormatter: function (v) { return fmt(spec.unit, v); }, confine: true },
      xAxis: valueAxis(spec),
      yAxis: { type: 'category', data: spec.x, inverse: true, axisLabel: { width: 180, overflow: 'truncate' } },
      series: [{
        type: 'bar', name: s.name, data: s.data, itemStyle: { color: s.color }, barMaxWidth: 18,
        label: { show: true, position: 'right', formatter: function (p) { return fmt(spec.unit, p.value); } }
      }]
    };
  }

  // funnelOption draws each step's users as a bar from zero (so lengths are
  // proportional to users), the users lost since the step before as a grey
  // bar stacked after it, and the conversions beside.
  function funnelOption(spec) {
    var users = spec.series[0].data.map(function (v) { return v === null ? 0 : v; });
    var first = users[0] || 0;
    var lost = users.map(function (u, i) { return i === 0 ? 0 : Math.max(users[i - 1] - u, 0); });
    var pct = function (a, b) { return b > 0 ? (a / b * 100).toFixed(1) + '%' : '–'; };
    var text = function (i) {
      var t = fmt('int', users[i]) + ' ' + W.users_unit + ' · ' + W.of_first + ' ' + pct(users[i], first);
      if (i > 0) t += ' · ' + W.dropped + ' ' + fmt('int', lost[i]) + ' (' + pct(lost[i], users[i - 1]) + ')';
      return t;
    };
    return {
      animation: false,
      grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
        formatter: function (ps) { return esc(ps[0].name) + '<br>' + esc(text(ps[0].dataIndex)); } },
      xAxis: { type: 'value', min: 0, max: Math.max(first, 1), minInterval: 1,
        axisLabel: { formatter: function (v) { return fmt('int', v, true); }, hideOverlap: true },
        splitLine: { lineStyle: { color: '#eaeef2' } } },
      yAxis: { type: 'category', data: spec.x, inverse: true, axisLabel: { width: 140, overflow: 'break' } },
      series: [
        { type: 'bar', name: spec.series[0].name, stack: 'f', data: users, itemStyle: { color: spec.series[0].color }, barWidth: 28,
          label: { show: true, position: 'insideLeft', color: '#fff', formatter: function (p) { return users[p.dataIndex] > first * 0.12 ? fmt('int', p.value) : ''; } } },
        { type: 'bar', name: W.dropped, stack: 'f', data: lost, itemStyle: { color: '#e6e9ed' }, barWidth: 28,
          label: { show: true, position: 'insideRight', color: '#1f2328', formatter: function (p) { return text(p.dataIndex); } } }
      ]
    };
  }

  // groupedOption compares the funnel of each group: a bar per step.
  function groupedOption(spec) {
    return {
      animation: false,
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
        formatter: function (ps) {
          var first = ps.length && ps[0].value ? ps[0].value : 0;
          return esc(ps[0].name) + ps.map(function (p) {
            var share = first > 0 && p.value !== null ? ' · ' + W.of_first + ' ' + (p.value / first * 100).toFixed(1) + '%' : '';
            return '<br>' + p.marker + esc(p.seriesName + W.colon + fmt('int', p.value) + share);
          }).join('');
        } },
      legend: { type: 'scroll', top: 0 },
      xAxis: { type: 'category', data: spec.x, axisLabel: { interval: 0, width: 90, overflow: 'truncate', hideOverlap: true } },
      yAxis: valueAxis(spec),
      series: spec.series.map(function (s) {
        return { type: 'bar', name: s.name, data: s.data, itemStyle: { color: s.color }, barMaxWidth: 22 };
      })
    };
  }

  var built = [];
  function draw() {
    if (!window.echarts) return;
    page.charts.forEach(function (spec) {
      spec.x = spec.x || [];
      var fig = document.getElementById(spec.id);
      if (!fig) return;
      var plot = fig.querySelector('.plot');
      var opt;
      switch (spec.kind) {
        case 'bar': opt = barOption(spec); plot.style.height = (spec.x.length * 26 + 40) + 'px'; break;
        case 'funnel': opt = funnelOption(spec); plot.style.height = (spec.x.length * 48 + 40) + 'px'; break;
        case 'grouped': opt = groupedOption(spec); break;
        default: opt = lineOption(spec);
      }
      var chart = echarts.init(plot, null, { renderer: 'svg', locale: zh ? 'ZH' : 'EN' });
      chart.setOption(opt);
      built.push(chart);
    });
  }

  // --- tables -----------------------------------------------------------------

  // Columns sort on a click of their header: numbers by the value behind
  // the text, words in the page's language; the totals row stays below.
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      th.classList.add('sortable');
      var go = function () {
        var dir = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (tr) {
          var td = tr.cells[col];
          if (!td) return '';
          if (td.dataset.v !== undefined) return parseFloat(td.dataset.v);
          return td.innerText.trim();
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b), c;
          if (typeof x === 'number' && typeof y === 'number') c = x - y;
          else if (typeof x === 'number') c = 1;
          else if (typeof y === 'number') c = -1;
          else c = String(x).localeCompare(String(y), zh ? 'zh' : 'en');
          return dir === 'ascending' ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      };
      th.addEventListener('click', go);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
    });
  }

  // A table wider than its place is shown as a card per row (each figure
  // under its label) rather than scrolled sideways.
  function fit() {
    document.querySelectorAll('.tablewrap').forEach(function (wrap) {
      var table = wrap.querySelector('table');
      table.classList.remove('stacked');
      if (table.scrollWidth > wrap.clientWidth + 1) table.classList.add('stacked');
    });
  }

  function start() {
    try {
      document.querySelectorAll('table.data').forEach(sortable);
      fit();
      draw();
    } finally {
      document.body.dataset.charts = 'done'; // the browser tests wait for this
    }
    var timer;
    window.addEventListener('resize', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fit();
        built.forEach(function (c) { c.resize(); });
      }, 60);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
