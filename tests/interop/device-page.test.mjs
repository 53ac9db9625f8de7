// A real browser (Debian's Chromium, driven by playwright-core) approves a `monkey auth login` on
// the REST host's /device page: the CLI (gRPC, against the Service) and the page (REST, against the
// Gateway) meet in the shared PostgreSQL identity store, as two hosts of one deployment do.
// Run by scripts/interop.sh, which sets MONKEY_DEVICE_TEST=1 only when both hosts share a database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const enabled = process.env.MONKEY_DEVICE_TEST === '1';
const gateway = process.env.MONKEY_GATEWAY_URL;
const service = `http://${process.env.MONKEY_SERVICE_ADDRESS}`;
const chromiumPath = process.env.MONKEY_CHROMIUM ?? '/usr/bin/chromium';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliDll = path.join(root, 'src/Cli/bin', process.env.MONKEY_CONFIGURATION ?? 'Release', 'net10.0/monkey.dll');

test('a browser approves `monkey auth login` on /device, and the CLI is then logged in as that user',
  { skip: enabled ? false : 'needs both hosts on one database (scripts/interop.sh with MONKEY_TEST_DATABASE_URL)', timeout: 120_000 },
  async () => {
    const { chromium } = await import('playwright-core');
    const email = `browser-${Date.now()}@example.com`;
    const password = 'correct horse battery staple 42';
    const signUp = await fetch(`${gateway}/v1/auth/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }),
    });
    assert.equal(signUp.status, 200, await signUp.text());

    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'monkey-device-'));
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_STATE_HOME: path.join(home, 'state'), MONKEY_CODER_BASE_URL: service };
    delete env.MONKEY_CODER_API_KEY;
    const cli = spawn('dotnet', [cliDll, 'auth', 'login', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    cli.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise((resolve) => cli.on('exit', (code) => resolve(code)));
    const lines = readline.createInterface({ input: cli.stdout });
    const events = [];
    const deviceCode = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no device code from the CLI: ${stderr}`)), 30_000);
      lines.on('line', (line) => {
        const event = JSON.parse(line);
        events.push(event);
        if (event.type === 'device_code') { clearTimeout(timer); resolve(event); }
      });
    });
    assert.ok(deviceCode.verification_uri_complete.startsWith(`${gateway}/device?user_code=`), deviceCode.verification_uri_complete);

    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    const problems = [];
    try {
      const page = await browser.newPage();
      page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
      page.on('pageerror', (error) => problems.push(String(error)));
      await page.goto(deviceCode.verification_uri_complete);
      assert.equal(await page.inputValue('#user_code'), deviceCode.user_code, 'the code is prefilled from the link');

      // A wrong password is refused on the page and approves nothing.
      await page.fill('#email', email);
      await page.fill('#password', 'not the password 000');
      await page.click('#allow');
      await page.waitForSelector('#result.error');
      assert.match(await page.textContent('#result'), /^Not approved: /);

      await page.fill('#password', password);
      await page.click('#allow');
      await page.waitForSelector('#result.ok');
      assert.match(await page.textContent('#result'), /^Approved\./);
      assert.equal(await page.inputValue('#password'), '', 'the page clears the password after use');
    } finally {
      await browser.close();
    }

    assert.equal(await exited, 0, stderr);
    const loggedIn = events.find((e) => e.type === 'logged_in');
    assert.equal(loggedIn?.email, email);
    // Only the failed sign-in's 401 may show in the console; nothing else (no CSP violation, no script error).
    assert.deepEqual(problems.filter((p) => !p.includes('401')), []);
    const stored = JSON.parse(fs.readFileSync(path.join(home, 'config/monkey-coder/credentials.json'), 'utf8'));
    assert.ok(stored.refresh_token && stored.access_token);
    fs.rmSync(home, { recursive: true, force: true });
  });
