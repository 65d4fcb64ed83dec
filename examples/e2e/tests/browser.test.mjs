// End-to-end: the real preppal server (offline, the Gemini Live simulator as interviewer)
// and Debian's chromium with a fixture WAV as the microphone. The steps share one browser
// and run in order: sign in, library, new interview, lobby, live session (captions,
// scheduled audio, barge-in flush), end, feedback, export, history; then a second
// interview in text mode whose connection drops. Each page gets a screenshot in
// e2e/artifacts/ and an axe-core check with no serious or critical violations.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fakeMicWav, fixturesDir, launchBrowser, rootDir, screenshot, seriousViolations, startServer } from '../lib/harness.mjs';

let server;
let browser;
let page;
const consoleErrors = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser(fakeMicWav());
  page = browser.context.pages()[0] || (await browser.context.newPage());
  page.setDefaultTimeout(20000);
  page.on('dialog', (d) => d.accept());
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function checkPage(name) {
  await screenshot(page, name);
  assert.deepEqual(await seriousViolations(page), [], `axe-core on the ${name} page`);
}

const jdFile = path.join(fixturesDir, 'interviews', 'backend-engineer.jd.txt');
const resumeFile = path.join(fixturesDir, 'interviews', 'backend-engineer.resume.txt');
const pdfResume = path.join(rootDir, 'examples', 'tests', 'fixtures', 'pdf', 'resume.pdf');

test('sign in with the dev credentials', async () => {
  await page.goto(server.url);
  await page.locator('#signin').waitFor();
  await checkPage('01-signin');
  await page.fill('#email', 'e2e@example.com');
  await page.fill('#name', 'Ada <b>Lovelace</b>');
  await page.click('#signin-form button[type=submit]');
  await page.locator('#setup').waitFor();
  // Text from users is shown as text, never as HTML.
  assert.equal(await page.textContent('#user-name'), 'Ada <b>Lovelace</b> (e2e@example.com)');
  assert.equal(await page.locator('#user-name b').count(), 0);
});

test('library: add from files, edit, delete', async () => {
  await page.click('nav a[href="#library"]');
  await page.locator('#library').waitFor();
  await page.setInputFiles('#jd-file', jdFile);
  await page.waitForFunction(() => document.querySelector('#jd-content').value.length > 100);
  assert.equal(await page.inputValue('#jd-title'), 'backend-engineer.jd');
  assert.equal(await page.inputValue('#jd-content'), readFileSync(jdFile, 'utf8'));
  await page.fill('#jd-title', 'Backend engineer');
  await page.click('#jd-form button[type=submit]');
  await page.locator('#jd-list li', { hasText: 'Backend engineer' }).waitFor();

  await page.setInputFiles('#resume-file', resumeFile);
  await page.waitForFunction(() => document.querySelector('#resume-content').value.length > 100);
  await page.click('#resume-form button[type=submit]');
  await page.locator('#resume-list li', { hasText: 'backend-engineer.resume' }).waitFor();

  // A second job description, renamed, then deleted.
  await page.fill('#jd-title', 'Temporary');
  await page.fill('#jd-content', 'A posting to <script>delete</script>.');
  await page.click('#jd-form button[type=submit]');
  await page.locator('#jd-list li', { hasText: 'Temporary' }).waitFor();
  await page.click('button[aria-label="Edit Temporary"]');
  assert.equal(await page.inputValue('#jd-content'), 'A posting to <script>delete</script>.');
  await page.fill('#jd-title', 'Renamed');
  await page.click('#jd-form button[type=submit]');
  await page.locator('#jd-list li', { hasText: 'Renamed' }).waitFor();
  assert.equal(await page.locator('#jd-list li', { hasText: 'Temporary' }).count(), 0);
  await checkPage('02-library');
  await page.click('button[aria-label="Delete Renamed"]');
  await page.locator('#jd-list li', { hasText: 'Renamed' }).waitFor({ state: 'detached' });
  assert.equal(await page.locator('#jd-list li').count(), 1);
});

test('library: a PDF resume is read by the server', async () => {
  await page.setInputFiles('#resume-file', pdfResume);
  await page.waitForFunction(() => document.querySelector('#resume-content').value.includes('Riley Quinn'));
  const text = await page.inputValue('#resume-content');
  assert.match(text, /Backend engineer with six years of Rust and Go services\./);
  assert.match(text, /Cut p99 latency of the quote service from 310 ms to 42 ms/);
  assert.equal(await page.inputValue('#resume-title'), 'resume');
  assert.match(await page.textContent('#library-status'), /Read resume\.pdf/);
  await page.fill('#resume-title', 'PDF resume');
  await page.click('#resume-form button[type=submit]');
  await page.locator('#resume-list li', { hasText: 'PDF resume' }).waitFor();
  await checkPage('02b-library-pdf');
  // A file that only claims to be a PDF gets the server's reason, and the text box keeps
  // what it had.
  await page.fill('#resume-content', 'kept');
  await page.setInputFiles('#resume-file', { name: 'fake.pdf', mimeType: 'application/pdf', buffer: Buffer.from('not a pdf') });
  await page.waitForFunction(() => /Could not read fake\.pdf/.test(document.querySelector('#library-status').textContent));
  // The reason is shown next to the field that caused it.
  assert.match(await page.textContent('#resume-content-error'), /not a PDF/);
  assert.equal(await page.getAttribute('#resume-file', 'aria-invalid'), 'true');
  assert.equal(await page.inputValue('#resume-content'), 'kept');
  await page.fill('#resume-content', '');
  await page.fill('#resume-title', '');
});

test('new interview from the library, then the lobby', async () => {
  await page.click('nav a[href="#new"]');
  await page.locator('#setup').waitFor();
  await page.selectOption('#jd-pick', { label: 'Backend engineer' });
  await page.selectOption('#resume-pick', { label: 'backend-engineer.resume' });
  assert.equal(await page.isVisible('#job-description'), false);
  await page.selectOption('#persona', 'custom');
  await page.fill('#persona-custom', 'a curious staff engineer');
  await page.check('#duration-10');
  await page.check('#mode-voice');
  await checkPage('03-new-interview');
  await page.click('#start');
  await page.locator('#lobby').waitFor();
  assert.match(await page.textContent('#lobby-summary'), /a curious staff engineer.*10 minutes/);

  // Microphone: permission, device list, a moving meter and the "say something" check.
  await page.click('#mic-allow');
  await page.locator('#mic-controls').waitFor();
  assert.equal(await page.textContent('#mic-message'), 'The microphone is on.');
  await page.waitForFunction(() => document.querySelectorAll('#mic-device option').length >= 1);
  await page.waitForFunction(() => document.querySelector('#level').value > 0.2);
  await page.waitForFunction(() => document.querySelector('#say-check').className === 'ok');
  await page.click('#speaker-test');
  assert.match(await page.textContent('#speaker-status'), /tone/);
  await checkPage('04-lobby');
  // Join in the microphone's silence, so that the first line plays uninterrupted.
  await page.waitForFunction(
    () => {
      window.quietReads = document.querySelector('#level').value < 0.1 ? (window.quietReads || 0) + 1 : 0;
      return window.quietReads >= 15;
    },
    null,
    { polling: 100 },
  );
});

test('live session: AI captions, scheduled audio, barge-in stops playback', async () => {
  await page.click('#join');
  await page.locator('#live').waitFor();
  await page.waitForFunction(() => !document.querySelector('#answer').disabled);
  assert.match(await page.textContent('#clock'), /Elapsed 0:0\d · remaining (9|10):\d\d/);
  // The interviewer's first line: captions with text, audio chunks queued and playing.
  await page.locator('#captions .caption-ai .text').first().waitFor();
  await page.waitForFunction(() => document.querySelector('#captions .caption-ai .text').textContent.length > 10);
  // Playing and the who-is-speaking indicator are set in the same callback: wait for both
  // at once, since a short line may already have finished by a later, separate read.
  await page.waitForFunction(
    () =>
      document.querySelector('#playback').dataset.playing === 'true' &&
      document.querySelector('#speaking').dataset.who === 'ai',
  );
  assert.ok(Number(await page.getAttribute('#playback', 'data-chunks')) > 0);
  await checkPage('05-live');
  // Barge in with a typed answer while the line plays: the worker sends Interrupted and
  // the playback worklet drops what is queued.
  await page.fill('#answer', 'I led the migration of our billing service to event sourcing.');
  await page.click('#send');
  await page.waitForFunction(() => Number(document.querySelector('#playback').dataset.flushes) >= 1);
  await page.waitForFunction(() => document.querySelector('#playback').dataset.playing === 'false');
  const played = Number(await page.getAttribute('#playback', 'data-played-ms'));
  assert.ok(played > 0, 'some audio played before the barge-in');
  // The rest of the line was queued (the simulator sends faster than real time) and dropped.
  assert.ok(Number(await page.getAttribute('#playback', 'data-dropped-ms')) > 0, 'queued audio was dropped');
  // The next question arrives and plays.
  await page.waitForFunction(() => document.querySelectorAll('#captions .caption-ai').length >= 2, null, {
    timeout: 30000,
  });
  await screenshot(page, '06-live-after-barge-in');
});

test('end the interview, read the feedback, export it', async () => {
  await page.click('#end');
  await page.locator('#results').waitFor();
  await checkPage('07-results-polling');
  await page.waitForFunction(() => document.querySelector('#results-status').dataset.state === 'ready', null, {
    timeout: 60000,
  });
  assert.match(await page.textContent('#results-status'), /You ended the interview/);
  await page.locator('#feedback').waitFor();
  assert.ok((await page.textContent('#summary')).length > 0);
  assert.ok((await page.locator('#transcript .entry').count()) >= 2);
  assert.ok((await page.locator('#transcript .entry-user', { hasText: 'event sourcing' }).count()) >= 1);
  await checkPage('08-feedback');

  const [md] = await Promise.all([page.waitForEvent('download'), page.click('#export-md')]);
  assert.match(md.suggestedFilename(), /^interview-.*\.md$/);
  const mdText = readFileSync(await md.path(), 'utf8');
  assert.match(mdText, /^# Interview feedback/);
  assert.match(mdText, /## Summary/);
  assert.match(mdText, /## Transcript/);
  assert.match(mdText, /event sourcing/);

  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const data = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.equal(data.interview.status, 'COMPLETED');
  assert.ok(data.feedback && typeof data.feedback.summary === 'string');
  assert.ok(Array.isArray(data.transcript) && data.transcript.length >= 2);
});

test('text mode: a dropped connection shows the indicator and the interview goes on', async () => {
  await page.click('#again');
  await page.locator('#setup').waitFor();
  await page.selectOption('#jd-pick', '');
  await page.fill('#job-description', readFileSync(jdFile, 'utf8'));
  await page.selectOption('#resume-pick', '');
  await page.fill('#resume', readFileSync(resumeFile, 'utf8'));
  await page.check('#mode-text');
  await page.click('#start');
  await page.locator('#lobby').waitFor();
  assert.equal(await page.isVisible('#mic-check'), false);
  // The interview socket goes through a route the test can cut, as a network drop would.
  const sockets = [];
  await page.routeWebSocket(/\/interview\//, (ws) => {
    const upstream = ws.connectToServer();
    sockets.push({ ws, upstream });
  });
  await page.click('#join');
  await page.locator('#live').waitFor();
  await page.waitForFunction(() => !document.querySelector('#answer').disabled);
  assert.match(await page.textContent('#mic-status'), /Text mode/);
  // The first line (a greeting that names the plan, then a question) takes some 25 s to
  // play, and its caption is final once it has played.
  await page.locator('#captions .caption-ai.final').first().waitFor({ timeout: 60000 });
  const aiLines = await page.locator('#captions .caption-ai').count();
  assert.equal(sockets.length, 1);
  await sockets[0].upstream.close();
  await sockets[0].ws.close({ code: 4000, reason: 'network dropped' });
  await page.waitForFunction(() => document.querySelector('#connection').dataset.state === 'reconnecting');
  assert.match(await page.textContent('#connection'), /Reconnecting/);
  await screenshot(page, '09-live-reconnecting');
  // The server kept the interview for the grace period: the page reconnects, redraws its
  // captions from the replay (no line twice) and the interview goes on.
  await page.waitForFunction(() => document.querySelector('#connection').dataset.state === 'open', null, {
    timeout: 30000,
  });
  assert.match(await page.textContent('#connection'), /Reconnected/);
  assert.equal(sockets.length, 2);
  await page.waitForFunction(() => /Reconnected/.test(document.querySelector('#live-status').textContent));
  assert.equal(await page.locator('#captions .caption-ai').count(), aiLines, 'no caption shown twice');
  await page.fill('#answer', 'I rewrote the tracking fan-out service in Rust.');
  await page.click('#send');
  await page.waitForFunction((n) => document.querySelectorAll('#captions .caption-ai').length > n, aiLines, {
    timeout: 30000,
  });
  assert.equal(await page.locator('#captions .caption-user').count(), 1);
  await page.click('#end');
  await page.locator('#results').waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#results-status').dataset.state === 'ready', null, {
    timeout: 60000,
  });
  assert.match(await page.textContent('#results-status'), /You ended the interview/);
});

test('history: list, open, delete', async () => {
  await page.click('nav a[href="#history"]');
  await page.locator('#history').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#history-rows tr').length === 2);
  assert.match(await page.textContent('#progress'), /2 interview\(s\)/);
  await checkPage('10-history');
  await page.locator('#history-rows tr').nth(1).locator('button', { hasText: 'Open' }).click();
  await page.locator('#results').waitFor();
  await page.waitForFunction(() => document.querySelector('#results-status').dataset.state === 'ready');
  await page.click('nav a[href="#history"]');
  await page.waitForFunction(() => document.querySelectorAll('#history-rows tr').length === 2);
  await page.locator('#history-rows tr').nth(0).locator('button', { hasText: 'Delete' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#history-rows tr').length === 1);
  assert.match(await page.textContent('#history-status'), /deleted/);
});

test('a refused microphone gets a clear message in the lobby', async () => {
  const other = await browser.context.newPage();
  await other.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
  });
  await other.goto(`${server.url}/#new`);
  await other.locator('#setup').waitFor();
  await other.fill('#job-description', 'Backend engineer, Rust.');
  await other.fill('#resume', 'Five years of Rust.');
  await other.click('#start');
  await other.locator('#lobby').waitFor();
  await other.click('#mic-allow');
  await other.waitForFunction(() => document.querySelector('#mic-message').className === 'error');
  assert.match(await other.textContent('#mic-message'), /refused.*allow the microphone.*typing/s);
  await screenshot(other, '11-lobby-mic-refused');
  assert.deepEqual(await seriousViolations(other), []);
  await other.close();
});

test('no script errors on the page', () => {
  assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), []);
});
