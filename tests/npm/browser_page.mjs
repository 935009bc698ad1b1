// The web page at / in Debian's Chromium through playwright-core (argv[2] = base URL, argv[3]
// = the served model's name): type a
// prompt, see tokens arrive and the tokens/s figure, press stop, see the reply end as stopped.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.argv[2];
const profile = mkdtempSync(join(tmpdir(), 'llmr-chromium-'));
// A fresh profile (--user-data-dir, which playwright passes for a persistent context).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = browser.pages()[0] || await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/');
  await page.waitForSelector('.msg.system');            // the welcome message arrived
  // the model picker lists the served model, selected
  await page.waitForFunction(() => document.querySelector('#model option:checked'));
  assert.equal(await page.$eval('#model', (s) => s.value), process.argv[3]);

  // a short reply streams in completely
  await page.fill('#maxTokens', '20');
  await page.fill('#prompt', 'Tell me a story');
  await page.click('#send');
  await page.waitForSelector('.msg.user');
  await page.waitForFunction(() => {
    const m = document.querySelector('.msg.ai .meta');
    return m && /tokens\/s$/.test(m.textContent);
  }, null, { timeout: 20000 });
  const first = await page.$eval('.msg.ai .text', (e) => e.textContent);
  assert.ok(first.length > 0, 'no text arrived');
  assert.match(await page.$eval('#status', (e) => e.textContent), /tokens\/s/);

  // a long reply: tokens arrive, then stop ends it
  await page.fill('#maxTokens', '1000');
  await page.fill('#prompt', 'Tell me a very long story');
  let stopped = false;
  for (let attempt = 0; attempt < 5 && !stopped; attempt++) {
    const n = await page.$$eval('.msg.ai', (l) => l.length);
    await page.click('#send');
    await page.waitForFunction((k) => {
      const l = document.querySelectorAll('.msg.ai');
      return l.length > k && l[k].querySelector('.text').textContent.length > 0;
    }, n, { timeout: 20000 });
    await page.click('#stop').catch(() => {});       // disabled when the reply already ended
    await page.waitForFunction(() => !document.querySelector('#send').disabled,
                               null, { timeout: 20000 });
    const meta = await page.$$eval('.msg.ai .meta', (l) => l[l.length - 1].textContent);
    stopped = /stopped/.test(meta);
    await page.fill('#prompt', 'Tell me a very long story');
  }
  assert.ok(stopped, 'the stop button never stopped a reply');
  assert.deepEqual(errors, []);
  console.log('browser: streamed, showed tokens/s, stopped');
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
