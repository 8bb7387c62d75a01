// Dev-time: opens URL in headless Chromium over the DevTools protocol, waits until Model Explorer has
// converted and laid out the graph, saves a screenshot and prints the page state and network log.
//   node --experimental-websocket scripts/me_cdp.mjs URL OUT.png [WAIT_MS]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const [url, out, waitMs = '60000'] = process.argv.slice(2);
const port = 9333 + Math.floor(Math.random() * 100);
const chrome = spawn(
  'chromium',
  [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    `--remote-debugging-port=${port}`,
    '--window-size=1600,1000',
    'about:blank',
  ],
  { stdio: 'ignore' },
);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let targets;
for (let i = 0; i < 60; i++) {
  try {
    targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    break;
  } catch {
    await sleep(500);
  }
}
const page = targets.find((t) => t.type === 'page');
const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener('open', r));
let id = 0;
const pending = new Map();
const log = [];
ws.addEventListener('message', (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) {
    pending.get(m.id)(m);
    pending.delete(m.id);
    return;
  }
  if (m.method === 'Runtime.consoleAPICalled')
    log.push(
      `console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(' ')}`.slice(
        0,
        300,
      ),
    );
  if (m.method === 'Runtime.exceptionThrown')
    log.push(
      `exception: ${m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text}`.slice(
        0,
        300,
      ),
    );
  if (m.method === 'Network.loadingFailed') log.push(`failed: ${m.params.errorText} ${m.params.requestId}`);
  if (m.method === 'Network.requestWillBeSent')
    log.push(`req: ${m.params.request.method} ${m.params.request.url.slice(0, 120)}`);
  if (m.method === 'Network.responseReceived')
    log.push(`resp: ${m.params.response.status} ${m.params.response.url.slice(0, 120)}`);
});
const send = (method, params = {}) =>
  new Promise((r) => {
    const i = ++id;
    pending.set(i, r);
    ws.send(JSON.stringify({ id: i, method, params }));
  });
await send('Runtime.enable');
await send('Network.enable');
await send('Page.enable');
await send('Page.navigate', { url });
const deadline = Date.now() + Number(waitMs);
let state = '';
while (Date.now() < deadline) {
  await sleep(2000);
  const r = await send('Runtime.evaluate', {
    expression: 'document.body.innerText.slice(0, 4000)',
    returnByValue: true,
  });
  state = r.result?.result?.value ?? '';
  if (!/Converting|Processing graph/.test(state) && /NODE DATA PROVIDERS|Node data/i.test(state)) break;
}
await sleep(3000);
const shot = await send('Page.captureScreenshot', { format: 'png' });
writeFileSync(out, Buffer.from(shot.result.data, 'base64'));
console.log(JSON.stringify({ state, log: log.slice(-25) }, null, 1));
ws.close();
chrome.kill();
