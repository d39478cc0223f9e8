#!/usr/bin/env node
/*
 * Debian's Chromium (/usr/bin/chromium, headless) driven by playwright-core, as an integrator's
 * browser on exphone's HTTPS admin page (tests/interop/test_web_browser.py). Shares the npm
 * packages of the WebRTC console (package.json, setup.sh); run with NODE_PATH=<dir>/node_modules.
 *
 * usage: node web-admin-driver.js --base https://127.0.0.1:PORT --spki BASE64 [--chromium PATH]
 *                                  [--home DIR]
 *   --spki   SHA-256 of the web server certificate's SubjectPublicKeyInfo (base64): passed as
 *            --ignore-certificate-errors-spki-list, so Chromium accepts that one key (signed by
 *            the test CA, which it does not know) and still refuses any other certificate.
 *   --home   HOME for Chromium (it creates ~/.pki there); default: a mktemp dir.
 *
 * Reads one JSON command per line on stdin, answers one JSON line on stdout ({"ok":true,...} or
 * {"ok":false,"error":...}); logs go to stderr. Commands (op):
 *   goto {path}                       -> {status, url, title}; network errors -> ok:false
 *   api {path}                        -> {status, json}: a GET rendered by the browser, body parsed
 *   login {password}                  fills the login form of /login and submits it
 *                                     -> {url, title, message}
 *   upload_ca {file}                  /certificates: setInputFiles on #ca-upload's file input,
 *                                     submit -> {status, title, message}
 *   account {fields}                  /account: fills inputs/selects of the first form.account-form
 *                                     by name, submits -> {status, title, message}
 *   status                            snapshot of the status page: accounts and calls rows
 *   diagnostics                       snapshot of /diagnostics (key export paragraph, audit rows)
 *   certificates                      snapshot of /certificates (trusted CA rows)
 *   screenshot {path}                 full-page PNG of the current page
 *   probe_unpinned {path}             a second Chromium without the SPKI pin loads the page:
 *                                     -> {loaded, error} (must not load: the test CA is unknown)
 *   quit
 * Every reply also carries `problems`: console errors, page errors and CSP violation reports
 * since the previous reply (a server-rendered page without scripts should have none).
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const A = {};
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i];
  if (!k.startsWith('--')) { console.error('bad arg ' + k); process.exit(2); }
  A[k.slice(2)] = process.argv[++i];
}
const base = A.base;
const exe = A.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
const home = A.home || fs.mkdtempSync(path.join(os.tmpdir(), 'web-admin-'));
const t0 = Date.now();
const say = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s browser]`, ...a);
if (!base || !A.spki) { console.error('need --base and --spki'); process.exit(2); }

const commonArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--no-default-browser-check',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-domain-reliability'];
const env = Object.assign({}, process.env, { HOME: home });
let problems = [];

async function launch(pinned) {
  const args = commonArgs.concat(pinned ? ['--ignore-certificate-errors-spki-list=' + A.spki] : []);
  return chromium.launch({ executablePath: exe, headless: true, args, env });
}

async function main() {
  const browser = await launch(true);
  say('chromium', browser.version());
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await ctx.newPage();
  page.on('console', m => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()} [${(m.location() || {}).url || ''}]`);
  });
  page.on('pageerror', e => problems.push('pageerror: ' + e.message));
  page.setDefaultTimeout(15000);

  const message = async () => {
    const m = await page.$('#message');
    return m ? (await m.textContent()).trim() : null;
  };
  const summary = async (resp) => ({ status: resp ? resp.status() : null, url: page.url(), title: await page.title(), message: await message() });
  const submit = async (formSel) => {
    const [resp] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click(`${formSel} button[type=submit]`),
    ]);
    return resp;
  };

  const ops = {
    async goto(c) {
      const resp = await page.goto(base + c.path, { waitUntil: 'load' });
      return summary(resp);
    },
    async api(c) {
      const resp = await page.goto(base + c.path, { waitUntil: 'load' });
      const text = await resp.text();
      let j = null;
      try { j = JSON.parse(text); } catch (_) { /* not JSON (e.g. a 401 page) */ }
      return { status: resp.status(), json: j };
    },
    async login(c) {
      const resp0 = await page.goto(base + '/login', { waitUntil: 'load' });
      if (resp0.status() !== 200) throw new Error('/login: HTTP ' + resp0.status());
      await page.fill('form[action="/login"] input[name=password]', c.password);
      const resp = await submit('form[action="/login"]');
      return summary(resp);
    },
    async upload_ca(c) {
      await page.goto(base + '/certificates', { waitUntil: 'load' });
      await page.setInputFiles('#ca-upload input[type=file]', c.file);
      return summary(await submit('#ca-upload'));
    },
    async account(c) {
      await page.goto(base + '/account', { waitUntil: 'load' });
      const form = 'form.account-form';
      for (const [name, value] of Object.entries(c.fields)) {
        const el = await page.$(`${form} [name="${name}"]`);
        if (!el) throw new Error('no field ' + name);
        const tag = await el.evaluate(e => e.tagName.toLowerCase());
        if (tag === 'select') await el.selectOption(value); else await el.fill(value);
      }
      return summary(await submit(form));
    },
    async status() {
      return page.evaluate(() => ({
        title: document.title,
        accounts: [...document.querySelectorAll('table#accounts tr.account')].map(r => ({
          registered: r.dataset.registered, cells: [...r.cells].map(td => td.textContent.trim()) })),
        calls: [...document.querySelectorAll('table#calls tr.call')].map(r => ({
          secure: r.dataset.secure,
          padlock: !!r.querySelector('.padlock'),
          padlockVisible: !!r.querySelector('.padlock') && r.querySelector('.padlock').getBoundingClientRect().width > 0,
          noPadlock: !!r.querySelector('.no-padlock'),
          reason: r.querySelector('.insecure-reason') ? r.querySelector('.insecure-reason').textContent.trim() : null,
          cells: [...r.cells].map(td => td.textContent.trim()) })),
        noCalls: !!document.querySelector('#no-calls'),
      }));
    },
    async diagnostics() {
      return page.evaluate(() => ({
        title: document.title,
        keyExportOff: !!document.querySelector('#key-export-off'),
        keyExportOn: !!document.querySelector('#key-export-on'),
        audit: !!document.querySelector('#audit'),
        auditSummary: document.querySelector('#audit-summary') ? document.querySelector('#audit-summary').textContent : null,
      }));
    },
    async certificates() {
      return page.evaluate(() => ({
        title: document.title,
        trusted: [...document.querySelectorAll('table#trusted-cas tr.cert')].map(r => [...r.cells].map(td => td.textContent.trim())),
        upload: !!document.querySelector('#ca-upload input[type=file]'),
      }));
    },
    async screenshot(c) {
      await page.screenshot({ path: c.path, fullPage: true });
      return { bytes: fs.statSync(c.path).size };
    },
    async probe_unpinned(c) {
      const b = await launch(false);
      try {
        const p = await b.newPage();
        try {
          const resp = await p.goto(base + c.path, { timeout: 10000 });
          return { loaded: true, status: resp && resp.status() };
        } catch (e) {
          return { loaded: false, error: String(e.message).split('\n')[0] };
        }
      } finally {
        await b.close();
      }
    },
  };

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let c, reply;
    try {
      c = JSON.parse(line);
      if (c.op === 'quit') break;
      if (!ops[c.op]) throw new Error('unknown op ' + c.op);
      reply = Object.assign({ ok: true }, await ops[c.op](c));
    } catch (e) {
      reply = { ok: false, error: String(e && e.message || e).split('\n')[0] };
    }
    reply.problems = problems;
    problems = [];
    say(c && c.op, JSON.stringify(reply).slice(0, 300));
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
  await browser.close();
}
main().then(() => process.exit(0), e => { console.error(e); process.exit(1); });
