#!/usr/bin/env node
'use strict';
// Drive the official Youshu mini-program SDK (npm: sr-sdk-wxapp) in plain
// Node against any HTTP collector.
//
//   node run.js --server http://127.0.0.1:8080/api/report --token T \
//               --scenario scenarios/full.json [--sdk-version 2.1.1] \
//               [--out out/requests.jsonl]
//
// See README.md for every option, the scenario format and the exit codes.

const fs = require('fs');
const path = require('path');
const { createRuntime, Recorder } = require('./lib/wx-runtime');

const EXIT = { OK: 0, NOT_DRAINED: 1, HARNESS_ERROR: 2, RECOVERED: 3 };

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
    } else {
      const key = a.slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) out[key] = true;
      else {
        out[key] = next;
        i++;
      }
    }
  }
  return out;
}

const USAGE = `usage: node run.js --server URL --token TOKEN --scenario FILE [options]

  --server URL          collector endpoint handed to the SDK as serverUrl
                        (the SDK appends ?token=TOKEN itself)
  --token TOKEN         Youshu token (default: bi-harness-token)
  --scenario FILE       scenario JSON (see scenarios/full.json)
  --sdk-version V       2.1.1 | 1.10.1 | 1.8.2 | 1.4.2 (default 2.1.1)
  --sdk PATH            load the SDK from this file instead (overrides --sdk-version)
  --appid ID            mini-program appid (default: scenario.appid or wxharness0000000)
  --out FILE            JSON-lines log of every request the SDK made
                        (default out/requests-<version>.jsonl)
  --tencent MODE        what to do with SDK calls to Tencent hosts
                        (remote config /open/sdk, /wxlogin/getOpenId, ...):
                        stub (default, answered locally) | forward (same path
                        and query sent to the --server origin) | fail
  --encrypt             init the SDK with encrypt:true (RC4 + base64 body)
  --storage FILE        persist wx storage across runs (simulates a returning user)
  --drain-timeout MS    how long to wait for the SDK queue to empty (default 20000)
  --idle-ms MS          queue must be empty and network idle this long (default 1600)
  --verbose             show the SDK's own console output
`;

function now() {
  return Date.now();
}

// "$now" -> Date.now(), "$now-60000" -> Date.now()-60000 (numbers), and
// "${now}" inside longer strings -> the same value as a string.
function materialise(v) {
  if (typeof v === 'string') {
    const m = /^\$now([+-]\d+)?$/.exec(v);
    if (m) return now() + (m[1] ? Number(m[1]) : 0);
    return v.replace(/\$\{now\}/g, String(now()));
  }
  if (Array.isArray(v)) return v.map(materialise);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = materialise(x);
    return o;
  }
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function buildPageDef(p, sdkLog) {
  const def = {
    data: Object.assign({}, p.data || {}),
    onLoad() {},
    onShow() {},
    onReady() {},
    onHide() {},
    onUnload() {},
    onPullDownRefresh() {},
    onReachBottom() {},
  };
  if (p.data_title) def.data.title = p.title;
  if (p.share !== false) {
    const share = Object.assign({}, p.share || {});
    def.onShareAppMessage = function () {
      return Object.assign({}, share);
    };
    def.onShareTimeline = function () {
      return { title: share.title, query: share.timeline_query || '' };
    };
  }
  for (const m of p.methods || []) {
    def[m] = function () {
      sdkLog(`page method ${m} called`);
    };
  }
  return def;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || args.h) {
    process.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (!args.server || !args.scenario) {
    process.stderr.write(USAGE);
    return EXIT.HARNESS_ERROR;
  }
  const scenario = JSON.parse(fs.readFileSync(args.scenario, 'utf8'));
  const version = args['sdk-version'] || scenario.sdk_version || '2.1.1';
  const appid = args.appid || scenario.appid || 'wxharness0000000';
  const token = args.token || scenario.token || 'bi-harness-token';
  const outFile = args.out || path.join(__dirname, 'out', `requests-${version}.jsonl`);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  const verbose = !!args.verbose;
  const drainTimeout = Number(args['drain-timeout'] || 20000);
  const idleMs = Number(args['idle-ms'] || 1600);

  const say = (msg) => process.stderr.write(`[harness] ${msg}\n`);
  const origConsole = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  if (!verbose) {
    console.log = console.info = console.warn = () => {};
    console.error = (...a) => {
      // keep genuine SDK crashes visible
      const s = a.map((x) => (x && x.stack) || String(x)).join(' ');
      if (/error/i.test(s) && !/\u672a\u5b9e\u73b0 title/.test(s)) process.stderr.write(`[sdk:error] ${s}\n`);
    };
  }

  const recorder = new Recorder(outFile);
  const pageTitles = {};
  for (const p of scenario.pages || []) if (p.title) pageTitles[p.route] = p.title;

  const rt = createRuntime({
    serverUrl: args.server,
    appid,
    recorder,
    tencentMode: args.tencent || scenario.tencent_mode || 'stub',
    stubs: {
      remoteConfig: scenario.remote_config,
      openId: (scenario.login || {}).open_id,
      unionId: (scenario.login || {}).union_id,
      openGId: (scenario.login || {}).open_gid,
    },
    systemInfo: scenario.system_info || {},
    storageFile: args.storage || null,
    pageTitles,
    globalTitle: scenario.app_title || '',
    appVersion: scenario.app_version || '0',
  });
  rt.install(global);

  // --- load the real SDK (it captures wx.request, Page and Component now)
  let sdkPath;
  if (args.sdk) sdkPath = path.resolve(args.sdk);
  else sdkPath = require.resolve(`sr-sdk-wxapp-${version}`, { paths: [__dirname] });
  const sr = require(sdkPath);
  say(`loaded SDK ${sdkPath} (reports as version ${sr.version || 'n/a before init'})`);

  const initOptions = Object.assign(
    { appid, token, serverUrl: args.server, autoProxy: true, debug: verbose },
    materialise(scenario.init || {}),
  );
  if (args.encrypt) initOptions.encrypt = true;
  sr.init(initOptions);
  say(`sr.init(${JSON.stringify(Object.assign({}, initOptions, { token: '***' }))})`);

  // app.js: App({ sr }) ; page files: Page({...})
  global.App({ sr, onLaunch() {}, onShow() {}, onHide() {}, globalData: {} });
  for (const p of scenario.pages || []) rt.registerPage(p.route, buildPageDef(p, verbose ? say : () => {}));

  // --- run steps
  const steps = scenario.steps || [];
  let stepNo = 0;
  for (const raw of steps) {
    stepNo++;
    const s = materialise(raw);
    const label = `step ${stepNo}/${steps.length} ${s.do}${s.type ? ' ' + s.type : ''}${s.route ? ' ' + s.route : ''}`;
    say(label);
    switch (s.do) {
      case 'launch':
        rt.launch({
          path: s.path,
          query: s.query || {},
          scene: s.scene,
          referrerInfo: s.referrerInfo || {},
          shareTicket: s.shareTicket,
          chatType: s.chatType,
          apiCategory: s.apiCategory || 'default',
        });
        break;
      case 'show':
        rt.show({
          path: s.path || (rt.current() || {}).route,
          query: s.query || Object.assign({}, (rt.current() || {}).options || {}),
          scene: s.scene,
          referrerInfo: s.referrerInfo || {},
          shareTicket: s.shareTicket,
        });
        break;
      case 'hide':
        rt.hide();
        break;
      case 'navigateTo':
        rt.navigateTo(s.route, s.query || {});
        break;
      case 'redirectTo':
        rt.redirectTo(s.route, s.query || {});
        break;
      case 'navigateBack':
        rt.navigateBack(s.delta || 1);
        break;
      case 'share': {
        const page = rt.current();
        const fn = s.timeline ? 'onShareTimeline' : 'onShareAppMessage';
        const res = rt.call(page, fn, { from: s.from || 'menu', target: s.target, shareTarget: s.shareTarget });
        if (verbose) say(`share returned ${JSON.stringify(res)}`);
        break;
      }
      case 'pullDown':
        rt.call(rt.current(), 'onPullDownRefresh');
        break;
      case 'reachBottom':
        rt.call(rt.current(), 'onReachBottom');
        break;
      case 'tap': {
        const ev = {
          type: s.event_type || 'tap',
          timeStamp: 1000,
          currentTarget: { id: s.id || '', dataset: s.dataset || {} },
          target: { id: s.id || '', dataset: s.dataset || {} },
          detail: {},
        };
        rt.call(rt.current(), s.method, ev);
        break;
      }
      case 'track':
        sr.track(s.type, s.props || {});
        break;
      case 'setUser':
        sr.setUser(s.args || {}, 0, !!s.flush);
        break;
      case 'setChan':
        sr.setChan(s.args || {}, 0, !!s.flush);
        break;
      case 'setContext':
        sr.setContext(s.args || {}, 0, !!s.flush);
        break;
      case 'setComponent':
        sr.setComponent(s.args || {});
        break;
      case 'clearComponent':
        sr.clearComponent();
        break;
      case 'setActivityInfo':
        sr.setActivityInfo(s.args || {});
        break;
      case 'clearActivityInfo':
        sr.clearActivityInfo();
        break;
      case 'pauseReport':
        sr.pauseReport();
        break;
      case 'resumeReport':
        sr.resumeReport();
        break;
      case 'startReport':
        sr.startReport();
        break;
      case 'flush':
        sr.flush();
        break;
      case 'error':
        rt.error(s.message || 'harness synthetic error');
        break;
      case 'call': {
        // escape hatch: call any SDK method with positional arguments
        const fn = sr[s.method];
        if (typeof fn !== 'function') throw new Error(`sr.${s.method} is not a function`);
        fn.apply(sr, Array.isArray(s.args) ? s.args : []);
        break;
      }
      case 'wait':
        break;
      default:
        throw new Error(`unknown step "${s.do}" (step ${stepNo})`);
    }
    await sleep(s.do === 'wait' ? Number(s.ms || 0) : Number(s.pause_ms || scenario.step_pause_ms || 50));
  }

  // --- drain: SDK queue empty, no request in flight, network idle for idleMs
  const deadline = now() + drainTimeout;
  const queueLen = () => {
    try {
      return (sr.queue && sr.queue.getItems ? sr.queue.getItems() : []).length;
    } catch (e) {
      return -1;
    }
  };
  let drained = false;
  while (now() < deadline) {
    if (queueLen() === 0 && rt.state.inflight === 0 && now() - rt.state.lastActivity >= idleMs) {
      drained = true;
      break;
    }
    await sleep(100);
  }

  // --- summary
  const serverPath = new URL(args.server).pathname;
  const reports = recorder.records.filter(
    (r) => r.routed === 'server' && new URL(r.url).pathname === serverPath && r.method === 'POST',
  );
  let accepted = 0;
  let rejected = 0;
  let netErrors = 0;
  const eventsByType = {};
  const acceptedByType = {};
  let eventsSent = 0;
  let eventsAccepted = 0;
  // A body is a JSON array of events, or one event object (the SDK posts
  // its own API exceptions that way).
  const asEvents = (v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : null);
  for (const r of reports) {
    let ok = false;
    if (r.error) netErrors++;
    else {
      try {
        ok = JSON.parse(r.response.body).code === 0;
      } catch (e) {
        ok = false;
      }
      if (ok) accepted++;
      else rejected++;
    }
    let events = asEvents(r.body_json);
    if (!events && initOptions.encrypt && r.request_headers) {
      try {
        const { decryptBody } = require('./lib/rc4');
        const key = r.request_headers['Content-Encrypting-Key'];
        events = asEvents(JSON.parse(decryptBody(r.body, key)));
      } catch (e) {
        events = null;
      }
    }
    for (const ev of events || []) {
      eventsSent++;
      eventsByType[ev.type] = (eventsByType[ev.type] || 0) + 1;
      // The SDK drops an event from its queue only when an upload carrying
      // it is accepted, and re-sends the whole failed batch otherwise; so
      // once drained, every distinct event was in exactly one accepted
      // upload. These counts are what a de-duplicating collector stores.
      if (ok) {
        eventsAccepted++;
        acceptedByType[ev.type] = (acceptedByType[ev.type] || 0) + 1;
      }
    }
  }
  const left = queueLen();
  let code = EXIT.OK;
  if (!drained || left !== 0) code = EXIT.NOT_DRAINED;
  else if (rejected > 0 || netErrors > 0) code = EXIT.RECOVERED;

  const summary = {
    sdk: sdkPath.includes('node_modules') ? `sr-sdk-wxapp@${version}` : sdkPath,
    sdk_reported_version: sr.version,
    server: args.server,
    log_file: outFile,
    requests_total: recorder.records.length,
    report_requests: reports.length,
    report_accepted: accepted,
    report_rejected: rejected,
    report_network_errors: netErrors,
    events_sent_including_retries: eventsSent,
    events_by_type: eventsByType,
    events_accepted: eventsAccepted,
    events_accepted_by_type: acceptedByType,
    queue_left: left,
    drained,
    exit_code: code,
    status: ['OK', 'NOT_DRAINED', 'HARNESS_ERROR', 'RECOVERED_AFTER_REJECTIONS'][code],
  };
  Object.assign(console, origConsole);
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[harness] fatal: ${(err && err.stack) || err}\n`);
    process.exit(EXIT.HARNESS_ERROR);
  },
);
