// Real-browser end-to-end test of Mamori: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against the real debug server started with the demo municipality.
//
// Journey: sign in as admin -> enrol TOTP with a code computed here -> recovery codes -> org tree
// (Japanese) -> compliance overview and a heat-map cell -> systems, network and a netcheck run -> switch to
// English -> sign out -> /org redirects to /login.
//
// Run from e2e/: `npm test` (node --test). Server binary: $MAMORI_BIN, default ../target/debug/mamori.
// Browser: $CHROMIUM_BIN, default /usr/bin/chromium. Screenshot and server log go to e2e/artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const MAMORI_BIN = process.env.MAMORI_BIN
  ? path.resolve(process.cwd(), process.env.MAMORI_BIN)
  : path.resolve(HERE, '../target/debug/mamori');
const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PASSWORD = 'samplecity-2026';

const SERVER_START_TIMEOUT_MS = 90_000; // a debug build on a busy 2-core machine can be slow
const ACTION_TIMEOUT_MS = 30_000;
const NAVIGATION_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// TOTP (RFC 6238 over RFC 4226), computed independently of the server.

/** Decode RFC 4648 base32 (case-insensitive; whitespace, dashes and padding ignored). */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not a base32 character: ${JSON.stringify(ch)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** HOTP/TOTP code for `key` at time `unixSeconds` (SHA-1, 30 s step). */
export function totp(key, unixSeconds, digits = 6, step = 30) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / step)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

// ---------------------------------------------------------------------------------------------
// Server and browser lifecycle.

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let server; // ChildProcess
let serverExited; // Promise resolved when the server process exits
let serverLog; // WriteStream
let dataDir;
let baseUrl;
let browser;

async function startServer() {
  if (!existsSync(MAMORI_BIN)) {
    throw new Error(`Mamori binary not found at ${MAMORI_BIN}: build it with \`cargo build -p mamori\` or set MAMORI_BIN`);
  }
  dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-e2e-'));
  const port = await freePort();

  // Keep settings from the caller's environment from steering the server elsewhere
  // (another database, Secure cookies over plain HTTP, another address).
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('MAMORI_')) delete env[k];
  env.NO_COLOR = '1';

  serverLog = createWriteStream(path.join(ARTIFACTS, 'server.log'));
  server = spawn(MAMORI_BIN, ['serve', '--demo', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serverExited = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
  server.stderr.pipe(serverLog, { end: false });

  baseUrl = await new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`server did not print "Mamori is running at" within ${SERVER_START_TIMEOUT_MS} ms; see artifacts/server.log`)),
      SERVER_START_TIMEOUT_MS,
    );
    server.once('error', (e) => { clearTimeout(timer); reject(e); });
    server.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}); see artifacts/server.log`));
    });
    server.stdout.on('data', (chunk) => {
      serverLog.write(chunk);
      buffered += chunk.toString('utf8');
      const m = buffered.match(/Mamori is running at (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/+$/, ''));
      }
    });
  });
}

async function stopServer() {
  if (!server) return;
  if (server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000));
    if ((await Promise.race([serverExited, timeout])) === 'timeout') {
      server.kill('SIGKILL');
      await serverExited;
    }
  }
  server = undefined;
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  rmSync(path.join(ARTIFACTS, 'failure.png'), { force: true }); // left by an earlier failed run
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM_BIN,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
});

after(async () => {
  try {
    if (browser) await browser.close();
  } catch (e) {
    console.error('closing the browser failed:', e);
  } finally {
    browser = undefined;
    try {
      await stopServer();
    } finally {
      if (serverLog) serverLog.end();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Tests.

test('TOTP helper matches the RFC 6238 SHA-1 test vectors', () => {
  const key = Buffer.from('12345678901234567890'); // RFC 6238 Appendix B seed
  assert.equal(totp(key, 59, 8), '94287082');
  assert.equal(totp(key, 1111111109, 8), '07081804');
  assert.equal(totp(key, 2000000000, 8), '69279037');
  assert.deepEqual(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), key);
});

test('journey: admin signs in, enrols TOTP, sees the org tree, switches to English, signs out', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    // Chromium asks for /favicon.ico on its own; Mamori has none (404), which is not a page error.
    if (new URL(where, baseUrl).pathname === '/favicon.ico') return;
    pageErrors.push(`${msg.text()} (${where})`);
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const pathname = () => new URL(page.url()).pathname;
  const h1 = () => page.locator('main h1').first().innerText();
  // Click a submit button and wait until the main frame has committed the resulting document
  // (after any redirect) and loaded it. The URL alone can't tell: POST /lang comes back to the same URL.
  const submit = async (selector) => {
    await Promise.all([
      page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() }),
      page.click(selector),
    ]);
    await page.waitForLoadState('load');
  };

  try {
    // 1. Sign in as admin (Japanese by default).
    let resp = await page.goto(`${baseUrl}/login`);
    assert.equal(resp.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
    assert.equal(await h1(), 'サインイン');
    await page.fill('#f-login', 'admin');
    await page.fill('#f-password', PASSWORD);
    await submit('#submit');

    // 2. A system administrator must enrol TOTP first.
    assert.equal(pathname(), '/mfa/enrol', `expected the MFA enrolment page after sign-in, got ${page.url()}`);
    assert.equal(await page.locator('.qr svg').count(), 1, 'the enrolment page shows an inline SVG QR code');
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    assert.match(secret.replace(/[\s=-]/g, ''), /^[A-Z2-7]{16,}$/i, `secret looks like base32: ${secret}`);
    const key = base32Decode(secret);
    // Keep clear of the edge of a 30 s step so the code is still current when the server checks it.
    if (30 - (Math.floor(Date.now() / 1000) % 30) < 3) await page.waitForTimeout(3_500);
    await page.fill('#f-totp', totp(key, Date.now() / 1000));
    await submit('#submit');
    assert.equal(await h1(), '回復コード', `expected the recovery codes page, got "${await h1()}" at ${page.url()}`);
    assert.ok(await page.locator('main a[href="/"]').count() >= 1, 'the recovery page links to /');

    // 3. The organisation tree, in Japanese, with a strict CSP.
    resp = await page.goto(`${baseUrl}/org`);
    assert.equal(pathname(), '/org', `/org should no longer redirect once MFA is enrolled, got ${page.url()}`);
    assert.equal(resp.status(), 200);
    const csp = resp.headers()['content-security-policy'];
    assert.ok(csp, '/org carries a content-security-policy header');
    assert.ok(csp.includes("script-src 'self'"), `CSP has script-src 'self': ${csp}`);
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
    assert.equal(await h1(), '組織');
    const table = page.locator('main table').first();
    await table.waitFor();
    const tableText = await table.innerText();
    for (const unit of ['情報政策課', '市長部局', '教育委員会', '消防局', '水道局']) {
      assert.ok(tableText.includes(unit), `org table lists ${unit}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'org.png'), fullPage: true });

    // 3b. The compliance overview: the charts render inline (no CSP violation), a heat-map cell leads to its
    // findings, and enrolling a second factor just now resolved the admin's own finding.
    resp = await page.goto(`${baseUrl}/compliance`);
    assert.equal(resp.status(), 200);
    assert.equal(await h1(), '遵守状況');
    assert.equal(await page.locator('main .chart svg').count(), 2, 'heat map and trend are inline SVG');
    const cell = page.locator('main .chart svg a[href^="/compliance/findings"]').first();
    await Promise.all([page.waitForEvent('framenavigated'), cell.click()]);
    await page.waitForLoadState('load');
    assert.equal(pathname(), '/compliance/findings', `a heat-map cell links to its findings, got ${page.url()}`);
    await page.goto(`${baseUrl}/compliance/findings?check=account.privileged_without_mfa`);
    const mfa = await page.locator('main table').first().innerText();
    assert.ok(mfa.includes('ciso'), 'the CISO has not enrolled yet');
    assert.ok(!/アカウント: admin\b/.test(mfa), `the admin's finding is resolved once enrolled: ${mfa}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'compliance.png'), fullPage: true });

    // 3c. The zone register: the demo city's systems, and its network with the latest netcheck as a matrix of
    // zone pairs; a run's page lists its inputs with their SHA-256.
    resp = await page.goto(`${baseUrl}/systems`);
    assert.equal(resp.status(), 200);
    assert.equal(await h1(), '情報システム台帳');
    const systems = await page.locator('main table').first().innerText();
    assert.ok(systems.includes('住民記録システム'), `the systems list shows the demo's My Number system: ${systems}`);
    resp = await page.goto(`${baseUrl}/network`);
    assert.equal(resp.status(), 200);
    assert.equal(await h1(), 'ネットワークの系の分離');
    const network = await page.locator('main').innerText();
    assert.ok(network.includes('マイナンバー利用事務系') && network.includes('分離'), `the verdict matrix: ${network}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'network.png'), fullPage: true });
    const run = page.locator('main a[href^="/network/runs/"]').first();
    await Promise.all([page.waitForEvent('framenavigated'), run.click()]);
    await page.waitForLoadState('load');
    assert.match(pathname(), /^\/network\/runs\/\d+$/, `a run links to its page, got ${page.url()}`);
    assert.match(await page.locator('main').innerText(), /[0-9a-f]{64}/, 'the run lists its inputs\' SHA-256');

    // 3d. 無害化通信: the demo's relay held a mail for 市民課 with four attachments, and its member asked for the
    // CSV. The administrator approves it here; the relay converts it and sends it on. Its health page counts
    // what went through.
    resp = await page.goto(`${baseUrl}/quarantine/requests`);
    assert.equal(resp.status(), 200);
    assert.equal(await h1(), '取り出し申請の承認');
    const request = page.locator('main section.held').filter({ hasText: '見積書.csv' }).first();
    assert.ok((await request.innerText()).includes('見積金額を課内で確認するため'), 'the approver sees the reason');
    await page.screenshot({ path: path.join(ARTIFACTS, 'quarantine-requests.png'), fullPage: true });
    await request.locator('input[name="note"]').fill('業務上必要と確認');
    await submit('main section.held button[value="approve"]');
    assert.equal(pathname(), '/quarantine/requests');
    assert.equal(
      (await page.locator('main .notice').innerText()).trim(),
      '承認し、中継が変換して送りました。',
      'the relay converted and sent the approved CSV',
    );
    // The release is delivered in the background: look again for a few seconds.
    let relay = '';
    for (let i = 0; i < 20 && !/配送（直近 24 時間）\s*4/.test(relay); i++) {
      if (i > 0) await page.waitForTimeout(250);
      resp = await page.goto(`${baseUrl}/network/relay`);
      assert.equal(resp.status(), 200);
      relay = await page.locator('main dl').first().innerText();
    }
    assert.match(relay, /配送（直近 24 時間）\s*4/, `three demo mails and the release delivered: ${relay}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'relay.png'), fullPage: true });
    await page.goto(`${baseUrl}/org`);

    // 4. Switch to English.
    assert.equal((await page.locator('#lang-switch').innerText()).trim(), 'English');
    await submit('#lang-switch');
    assert.equal(pathname(), '/org', 'the language switch comes back to the same page');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await h1(), 'Organisation');
    assert.equal((await page.locator('#lang-switch').innerText()).trim(), '日本語');

    // 5. Sign out: back on the login page, and /org now sends us there.
    await submit('#logout');
    assert.equal(pathname(), '/login', `sign-out lands on /login, got ${page.url()}`);
    await page.locator('#f-login').waitFor();
    assert.equal(await page.locator('#logout').count(), 0, 'no sign-out button once signed out');
    resp = await page.goto(`${baseUrl}/org`);
    assert.equal(pathname(), '/login', `/org should redirect to /login after sign-out, got ${page.url()}`);
    assert.equal(resp.request().redirectedFrom()?.url(), `${baseUrl}/org`);
    await page.locator('#f-login').waitFor();

    // No page ran into a CSP violation or any other console error on the way.
    assert.deepEqual(pageErrors, [], 'no console errors (e.g. CSP violations)');
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});
