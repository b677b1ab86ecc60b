#!/usr/bin/env node
// phone.mjs: a JsSIP phone in headless Chromium, scripted over stdin/stdout.
//
//   ip netns exec <ns> node tests/browser/phone.mjs --ws ws://10.77.0.1:8080 \
//       --uri sip:alice@10.77.0.1 --password alicepw --wav /tmp/440.wav [--auto-answer]
//
// stdin: one JSON command per line; stdout: one JSON event per line (protocol
// in README.md). stderr: diagnostics only (Chromium console, JsSIP debug).
// It must run inside a network namespace with a non-loopback interface:
// Chromium's WebRTC gathers no ICE candidates on loopback (see netns.sh).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    ws: { type: 'string' },               // ws://host:port of the registrar/proxy
    uri: { type: 'string' },              // our AoR, sip:alice@host
    password: { type: 'string' },         // digest password (omit when the proxy does no auth)
    display: { type: 'string' },
    wav: { type: 'string' },              // what the fake microphone plays (looped by Chromium)
    'auto-answer': { type: 'boolean', default: false },
    'session-timers': { type: 'boolean', default: false },
    'no-register': { type: 'boolean', default: false },
    'audio-processing': { type: 'boolean', default: false }, // Chromium's AEC/NS/AGC on the fake mic
    expires: { type: 'string', default: '600' },
    'http-host': { type: 'string', default: '127.0.0.1' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    debug: { type: 'boolean', default: false },  // JsSIP debug log + browser console to stderr
    'emit-sdp': { type: 'boolean', default: false },
    'pc-config': { type: 'string' },       // RTCPeerConnection config as JSON (TURN, iceTransportPolicy)
    'chromium-arg': { type: 'string', multiple: true, default: [] }, // extra Chromium switches
  },
});
if (!a.ws || !a.uri) {
  process.stderr.write('usage: phone.mjs --ws ws://host:port --uri sip:user@host [--password p] [--wav f] [--auto-answer] [--session-timers]\n');
  process.exit(2);
}

const t0 = Date.now();
// Every stdout line is one event; `t` (ms since start) helps when reading test logs.
const out = (obj) => process.stdout.write(JSON.stringify({ ...obj, t: Date.now() - t0 }) + '\n');
const log = (...m) => { if (a.debug) process.stderr.write(m.join(' ') + '\n'); };

// --- static page server -----------------------------------------------------
// Served on 127.0.0.1 by default: getUserMedia needs a secure context, and
// http://127.0.0.1 is one while http://10.77.0.1 is not. The page's origin
// has nothing to do with ICE, which still uses the namespace's veth addresses.
const bundle = path.join(here, 'jssip.bundle.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write(`phone.mjs: ${bundle} missing: run tests/browser/install.sh\n`);
  process.exit(2);
}
const files = {
  '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>tongdai phone</title>'
    + '<audio id="remote" autoplay></audio><script src="/jssip.js"></script><script src="/page.js"></script>'],
  '/jssip.js': ['text/javascript', fs.readFileSync(bundle)],
  '/page.js': ['text/javascript', fs.readFileSync(path.join(here, 'page.js'))],
};
const server = http.createServer((req, res) => {
  const f = files[req.url];
  if (!f) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' });
  res.end(f[1]);
});
await new Promise((res) => server.listen(0, a['http-host'], res));
const pageUrl = `http://${a['http-host']}:${server.address().port}/`;

// --- browser ----------------------------------------------------------------
// A fresh profile per run (launchPersistentContext is Playwright's way to pass
// --user-data-dir); removed on exit.
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tongdai-chromium-'));
const args = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream',    // grant the microphone without a prompt
  '--use-fake-device-for-media-stream', // a fake microphone...
  '--autoplay-policy=no-user-gesture-required', // ...and play remote audio without a click
];
args.push(...a['chromium-arg']);
if (a.wav) args.push(`--use-file-for-fake-audio-capture=${path.resolve(a.wav)}`); // ...that plays this file
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: a.chromium, // never a Playwright-downloaded browser
    headless: true,
    args,
    // Playwright adds --mute-audio when headless; we keep it (nothing to hear),
    // the remote audio is still decoded and analysed.
  });
} catch (err) {
  out({ event: 'error', where: 'launch', message: String(err.message || err) });
  await cleanup(1);
}
const page = context.pages()[0] || await context.newPage();
page.on('console', (m) => log(`[console.${m.type()}]`, m.text()));
page.on('pageerror', (e) => out({ event: 'error', where: 'page', message: String(e) }));
page.on('crash', () => { out({ event: 'error', where: 'page', message: 'crashed' }); cleanup(1); });
await page.exposeFunction('emit', (json) => {
  try { out(JSON.parse(json)); } catch { out({ event: 'error', where: 'emit', message: json }); }
});
await page.goto(pageUrl);
out({ event: 'ready', page: pageUrl, chromium: context.browser()?.version() ?? null, pid: process.pid });
await page.evaluate((o) => window.phone.cmd({ cmd: 'start', opts: o }), {
  ws: a.ws, uri: a.uri, password: a.password, display: a.display,
  register: !a['no-register'], expires: Number(a.expires),
  sessionTimers: a['session-timers'], autoAnswer: a['auto-answer'],
  debug: a.debug, emitSdp: a['emit-sdp'],
  pcConfig: a['pc-config'] ? JSON.parse(a['pc-config']) : null,
});

// --- commands ---------------------------------------------------------------
let quitting = false;
async function quit(code = 0) {
  if (quitting) return;
  quitting = true;
  try { await page.evaluate(() => window.phone.cmd({ cmd: 'stop' })); } catch { /* page gone */ }
  out({ event: 'quit' });
  cleanup(code);
}
async function cleanup(code) {
  try { await context?.close(); } catch { /* already closed */ }
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

const rl = readline.createInterface({ input: process.stdin });
// Commands run one after another, in order, so a test can pipeline them.
let chain = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  let c;
  try { c = JSON.parse(line); } catch { c = null; }
  chain = chain.then(async () => {
    if (!c || typeof c !== 'object') return out({ event: 'error', where: 'stdin', message: `bad JSON: ${line}` });
    if (c.cmd === 'quit') return quit(0);
    if (c.cmd === 'sleep') return new Promise((r) => setTimeout(r, c.ms || 0)); // handy in shell pipelines
    try { await page.evaluate((x) => window.phone.cmd(x), c); }
    catch (err) { out({ event: 'error', where: c.cmd, message: String(err.message || err) }); }
  });
});
// The test dropping our stdin (or dying) ends the phone cleanly.
rl.on('close', () => { chain.then(() => quit(0)); });
process.on('SIGTERM', () => quit(0));
process.on('SIGINT', () => quit(0));
