// A spoken interview at 200 % zoom: the real preppal server (offline, the Gemini Live
// simulator as interviewer) and Debian's chromium in a 640 × 450 CSS-pixel viewport (a
// 1280 × 900 window at 200 %), with a fake microphone that says two seconds of a fixture
// answer after every two and a half of silence, on a loop. Nothing is typed: the
// candidate's voice alone interrupts the interviewer (the simulator's voice activity
// detection on the audio's own timeline), the worker sends the flush and the page's
// playback stops. Screenshots go to e2e/artifacts/ as for the other tests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir, launchBrowser, micWav, screenshot, seriousViolations, startServer } from '../lib/harness.mjs';

let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  const mic = micWav([
    ['silence', 2.5],
    ['speech', 2],
  ]);
  browser = await launchBrowser(mic, { width: 640, height: 450 });
  page = browser.context.pages()[0] || (await browser.context.newPage());
  page.setDefaultTimeout(20000);
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

const read = (name) => readFileSync(path.join(fixturesDir, 'interviews', name), 'utf8');

test('captions stay readable at 200 % zoom', async () => {
  await page.goto(server.url);
  await page.fill('#email', 'zoom@example.com');
  await page.click('#signin-form button[type=submit]');
  await page.locator('#setup').waitFor();
  await page.fill('#job-description', read('backend-engineer.jd.txt'));
  await page.fill('#resume', read('backend-engineer.resume.txt'));
  await page.check('#mode-voice');
  await page.click('#start');
  await page.locator('#lobby').waitFor();
  await page.click('#join');
  await page.locator('#live').waitFor();
  await page.waitForFunction(() => document.querySelector('#captions .caption-ai .text')?.textContent.length > 20);
  await page.locator('#captions').scrollIntoViewIfNeeded();
  const layout = await page.evaluate(() => {
    const box = document.querySelector('#captions');
    const r = box.getBoundingClientRect();
    const texts = [...box.querySelectorAll('.caption .text')].map((t) => {
      const tr = t.getBoundingClientRect();
      return { left: tr.left, right: tr.right, fontPx: parseFloat(getComputedStyle(t).fontSize) };
    });
    return {
      viewport: window.innerWidth,
      pageScrollWidth: document.documentElement.scrollWidth,
      box: { left: r.left, right: r.right, height: r.height },
      boxScrollWidth: box.scrollWidth,
      boxClientWidth: box.clientWidth,
      texts,
    };
  });
  assert.equal(layout.viewport, 640);
  // No horizontal scrolling of the page nor of the caption area.
  assert.ok(layout.pageScrollWidth <= layout.viewport, `page scrolls sideways: ${JSON.stringify(layout)}`);
  assert.ok(layout.boxScrollWidth <= layout.boxClientWidth, `captions scroll sideways: ${JSON.stringify(layout)}`);
  // The caption area is on screen, tall enough for a few lines, and every caption's text
  // lies within it (wrapped, not clipped) at a readable size.
  assert.ok(layout.box.left >= 0 && layout.box.right <= layout.viewport, JSON.stringify(layout.box));
  assert.ok(layout.box.height >= 60, `captions are ${layout.box.height}px tall`);
  assert.ok(layout.texts.length >= 1);
  for (const t of layout.texts) {
    assert.ok(t.left >= layout.box.left && t.right <= layout.box.right, `clipped caption: ${JSON.stringify(t)}`);
    assert.ok(t.fontPx >= 16, `caption text is ${t.fontPx}px`);
  }
  await screenshot(page, '20-live-200-percent');
  assert.deepEqual(await seriousViolations(page), [], 'axe-core on the live page at 200 %');
});

test('speaking over the interviewer stops its audio (spoken barge-in)', async () => {
  // The interviewer's audio was scheduled and played...
  await page.waitForFunction(() => Number(document.querySelector('#playback').dataset.chunks) > 0);
  // ...until the candidate's voice cut it: the worker's flush reached the playback worklet.
  await page.waitForFunction(() => Number(document.querySelector('#playback').dataset.flushes) >= 1, null, {
    timeout: 25000,
  });
  await page.waitForFunction(() => document.querySelector('#playback').dataset.playing === 'false');
  assert.ok(Number(await page.getAttribute('#playback', 'data-played-ms')) > 0, 'some audio played first');
  // The simulator sends a line faster than real time, so part of it was still queued.
  assert.ok(Number(await page.getAttribute('#playback', 'data-dropped-ms')) > 0, 'queued audio was dropped');
  // Nothing was typed: the voice did it.
  assert.equal(await page.inputValue('#answer'), '');
  // Who is speaking, sampled over the rest of the answer: "You are speaking" holds through
  // the answer's short pauses (one run, no flicker).
  const who = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const seen = [];
        const timer = setInterval(() => seen.push(document.querySelector('#speaking').dataset.who), 50);
        setTimeout(() => {
          clearInterval(timer);
          resolve(seen);
        }, 2000);
      }),
  );
  const runs = who.filter((w, i) => w === 'user' && who[i - 1] !== 'user').length;
  assert.ok(who.includes('user'), `the candidate's speech is shown: ${who.join(' ')}`);
  assert.equal(runs, 1, `one run of "You are speaking": ${who.join(' ')}`);
  await screenshot(page, '21-live-spoken-barge-in');
  await page.click('#end');
  await page.locator('#results').waitFor();
  // The stored transcript notes the barge-in on the interviewer's entry, with the part of
  // its text the candidate heard before the cut (a prefix of the line; the session's
  // clock tests check where a mid-line cut falls).
  const entries = await page.evaluate(async () => {
    const id = location.hash.split('/')[1];
    const r = await fetch('/api/interview.getTranscript', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ interview_id: id }),
    });
    return (await r.json()).entries;
  });
  const cut = entries.filter((e) => e.speaker === 'AI' && e.interrupted);
  assert.ok(cut.length >= 1, `an interviewer entry is marked interrupted: ${JSON.stringify(entries)}`);
  for (const e of cut) {
    assert.equal(typeof e.heard_text, 'string', JSON.stringify(e));
    assert.ok(e.text.startsWith(e.heard_text), JSON.stringify(e));
  }
  for (const e of entries.filter((x) => !x.interrupted)) assert.equal(e.heard_text, undefined, JSON.stringify(e));
});
