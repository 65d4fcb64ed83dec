// End-to-end: what the candidate hears, sees and is told. The real preppal server
// (offline: the Gemini Live simulator) and Debian's chromium with a microphone that stays
// silent for the first minute. In order: a signed-out visit logs nothing; the interviewer's
// captions are revealed in step with its audio (checked against the frames on the wire);
// the offline label; the results question by question in human units; progress split by
// job and by voice/text with charts; rejoining an interview in progress after a reload;
// every screen at 390 px without horizontal scroll; the dark theme; the candidate's words
// live (when the simulator can transcribe). Screenshots go to e2e/artifacts/ (4x-, 5x-,
// 6x-), each page also passes axe-core.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir, launchBrowser, micWav, screenshot, seriousViolations, serveHasFlag, startServer } from '../lib/harness.mjs';
import { ServerToClientMessageSchema, fromBinary } from '../../assets/proto.js';

const TRANSCRIPTS_FLAG = '--simulator-transcripts';
const answersTxt = path.join(fixturesDir, 'audio', 'answers.txt');
const transcribes = serveHasFlag(TRANSCRIPTS_FLAG);

let server;
let browser;
let page;
const consoleErrors = [];
const dialogs = [];
/** Server frames of the interview socket as they reached the page, decoded. */
const frames = [];

before(async () => {
  server = await startServer({}, transcribes ? [TRANSCRIPTS_FLAG, answersTxt] : []);
  browser = await launchBrowser(micWav([['silence', 60], ['speech', 3]]), { width: 1280, height: 900 });
  page = browser.context.pages()[0] || (await browser.context.newPage());
  page.setDefaultTimeout(30000);
  page.on('dialog', (d) => {
    dialogs.push(d.type());
    d.accept();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.routeWebSocket(/\/interview\//, (ws) => {
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => {
      if (typeof m !== 'string') {
        try {
          frames.push({ at: Date.now(), msg: fromBinary(ServerToClientMessageSchema, new Uint8Array(m)).message });
        } catch {
          // Not ours to judge here.
        }
      }
      ws.send(m);
    });
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function checkPage(name) {
  await screenshot(page, name);
  assert.deepEqual(await seriousViolations(page), [], `axe-core on ${name}`);
}

/** The page fits its viewport's width (no horizontal scroll). */
async function assertFits(name) {
  const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scrollWidth <= innerWidth, `${name}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

const jdBackend = readFileSync(path.join(fixturesDir, 'interviews', 'backend-engineer.jd.txt'), 'utf8');
const resumeBackend = readFileSync(path.join(fixturesDir, 'interviews', 'backend-engineer.resume.txt'), 'utf8');
const jdPm = readFileSync(path.join(fixturesDir, 'interviews', 'product-manager.jd.txt'), 'utf8');
const resumePm = readFileSync(path.join(fixturesDir, 'interviews', 'product-manager.resume.txt'), 'utf8');

async function newInterview(jd, resume, mode) {
  await page.goto(`${server.url}/#new`);
  await page.locator('#setup').waitFor();
  await page.selectOption('#jd-pick', '');
  await page.fill('#job-description', jd);
  await page.selectOption('#resume-pick', '');
  await page.fill('#resume', resume);
  await page.check(mode === 'text' ? '#mode-text' : '#mode-voice');
  await page.click('#start');
  await page.locator('#lobby').waitFor();
}

async function join() {
  await page.click('#join');
  await page.locator('#live').waitFor();
  await page.waitForFunction(() => !document.querySelector('#answer').disabled);
}

async function endAndWaitForResults() {
  await page.click('#end');
  await page.locator('#results').waitFor();
  await page.waitForFunction(() => document.querySelector('#results-status').dataset.state === 'ready', null, {
    timeout: 90000,
  });
}

test('a signed-out visit logs no error (the session is checked quietly)', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(server.url);
  await page.locator('#signin-form').waitFor();
  await page.waitForTimeout(500);
  assert.deepEqual(consoleErrors, [], 'no console error, not even a 401');
  await assertFits('sign-in at 390 px');
  await checkPage('50-signin-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.fill('#email', 'experience@example.com');
  await page.click('#signin-form button[type=submit]');
  await page.locator('#setup').waitFor();
});

test('the lobby says when the interviewer is the offline demo', async (t) => {
  const profile = await page.evaluate(async () => (await fetch('/api/user.getProfile', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json());
  if (!profile.interviewer) {
    t.skip('the server does not say which interviewer runs (user.getProfile().interviewer)');
    return;
  }
  await newInterview(jdBackend, resumeBackend, 'voice');
  if (profile.interviewer.kind === 'offline_demo') {
    assert.equal(await page.isVisible('#lobby-offline'), true);
    assert.match(await page.textContent('#lobby-offline'), /Offline demo.*script/s);
  } else {
    assert.equal(await page.isVisible('#lobby-offline'), false);
  }
});

test('voice: the interviewer’s captions are revealed in step with its audio', async () => {
  await newInterview(jdBackend, resumeBackend, 'voice');
  await page.click('#mic-allow');
  await page.locator('#mic-controls').waitFor();
  // Samples of what the page shows: the first caption's length and the audio of its turn played.
  await page.evaluate(() => {
    window.captionSamples = [];
    window.captionTimer = setInterval(() => {
      const first = document.querySelector('#captions .caption-ai .text');
      const pb = document.querySelector('#playback').dataset;
      window.captionSamples.push({
        chars: first ? first.textContent.length : 0,
        playedMs: Number(pb.turnPlayedMs || 0),
        turnQueuedMs: Number(pb.turnQueuedMs || 0),
        reports: Number(pb.reports || 0),
      });
    }, 50);
  });
  const since = frames.length;
  await join();
  if ((await page.textContent('#live-offline')).length > 0) {
    assert.match(await page.textContent('#live-offline'), /Offline demo/);
  }
  assert.equal(await page.isVisible('#live-mic'), true, 'the microphone meter and mute button are shown');
  assert.equal(await page.getAttribute('#mute', 'aria-pressed'), 'false');
  await checkPage('40-live-captions');
  // The first line plays out (nothing interrupts it) and its playback is reported.
  await page.waitForFunction(() => Number(document.querySelector('#playback').dataset.reports) >= 1, null, { timeout: 60000 });
  await page.waitForFunction(() => /Your turn/.test(document.querySelector('#live-status').textContent));
  const samples = await page.evaluate(() => {
    clearInterval(window.captionTimer);
    return window.captionSamples;
  });
  // Ground truth from the wire: after each fragment of the first line, its text so far and
  // the audio of that line received so far (fragments arrive with their audio).
  const truth = [];
  let text = 0;
  let audioMs = 0;
  for (const { msg } of frames.slice(since)) {
    if (msg.case === 'audioResponse') audioMs += msg.value.audioContent.length / 48; // 24 000 Hz PCM16LE
    if (msg.case === 'transcriptUpdate' && msg.value.speaker === 'AI' && !msg.value.isFinal) {
      text += msg.value.text.length;
      truth.push({ chars: text, audioMs });
    }
    if (msg.case === 'transcriptUpdate' && msg.value.turnComplete) break;
  }
  assert.ok(truth.length > 3, 'the first line came in fragments');
  const total = truth[truth.length - 1].chars;
  const shown = samples.filter((s) => s.chars > 0);
  assert.ok(shown.length > 10, 'the caption was sampled while it grew');
  assert.ok(shown[0].chars < total / 2, `the caption did not appear whole (${shown[0].chars} of ${total} characters at first)`);
  assert.equal(shown[shown.length - 1].chars, total, 'the whole line is shown once its audio has played');
  for (const s of shown) {
    // Where the text shown lies in the audio: the fragment that completed it arrived with
    // `audioMs` of this line's audio (the fragment starts at most one 100 ms chunk before).
    const at = truth.find((x) => x.chars >= s.chars);
    assert.ok(at, `caption text ${s.chars} is longer than the line`);
    const ahead = at.audioMs - 100 - s.playedMs;
    assert.ok(ahead <= 1000, `caption ${ahead.toFixed(0)} ms ahead of the audio played (${s.chars} characters at ${s.playedMs} ms)`);
  }
  // PlaybackReport: the line drained, so all of its audio counts as played.
  const lastReport = Number(await page.getAttribute('#playback', 'data-last-report-ms'));
  assert.ok(Math.abs(lastReport - audioMs) <= 50, `reported ${lastReport} ms of ${audioMs} ms played`);

  // Mute and unmute.
  await page.click('#mute');
  assert.equal(await page.getAttribute('#mute', 'aria-pressed'), 'true');
  assert.match(await page.textContent('#mic-status'), /muted/);
  await page.click('#mute');
  assert.equal(await page.getAttribute('#mute', 'aria-pressed'), 'false');

  // Two typed answers, then the end.
  await page.fill('#answer', 'I rewrote the tracking fan-out service in Rust and cut p99 latency from 310 ms to 42 ms.');
  await page.click('#send');
  await page.waitForFunction(() => document.querySelectorAll('#captions .caption-ai').length >= 2, null, { timeout: 30000 });
  await page.waitForFunction(() => /Your turn/.test(document.querySelector('#live-status').textContent), null, { timeout: 60000 });
  await page.fill('#answer', 'We added an outbox table and idempotency keys, and measured before we changed anything.');
  await page.click('#send');
  await page.waitForTimeout(1500);
  await endAndWaitForResults();
});

test('results: the job, each question with its answer, human units', async () => {
  assert.match(await page.textContent('#results-job'), /Senior Backend Engineer, Realtime Platform/);
  await page.locator('#questions li.question').first().waitFor();
  const questions = await page.locator('#questions li.question').allTextContents();
  assert.ok(questions.length >= 2, `${questions.length} questions shown`);
  assert.ok(questions.some((q) => /tracking fan-out service in Rust/.test(q)), 'the typed answer is shown with its question');
  assert.ok(questions.every((q) => /started \d+(\.\d)? s after the question/.test(q)), 'response latency in seconds');
  const metrics = await page.textContent('#metrics');
  assert.doesNotMatch(metrics, /\d ms\b/, 'no raw milliseconds in the metrics');
  assert.doesNotMatch(await page.textContent('#results'), /GEMINI_API_KEY/);
  await checkPage('41-results-questions');
  await page.setViewportSize({ width: 390, height: 844 });
  await assertFits('results at 390 px');
  await checkPage('55-results-390');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('text mode: a second job, then progress split by job and by mode', async () => {
  await newInterview(jdPm, resumePm, 'text');
  await join();
  await page.locator('#captions .caption-ai.final').first().waitFor({ timeout: 60000 });
  await page.fill('#answer', 'I led the redesign of our card payments checkout and cut abandonment by a fifth.');
  await page.click('#send');
  await page.waitForFunction(() => document.querySelectorAll('#captions .caption-ai').length >= 2, null, { timeout: 30000 });
  await endAndWaitForResults();
  assert.match(await page.textContent('#results-job'), /Product Manager, Payments Experience/);

  await page.goto(`${server.url}/#history`);
  await page.waitForFunction(() => document.querySelectorAll('#progress-groups .progress-group').length >= 2, null, {
    timeout: 30000,
  });
  const groups = await page.$$eval('#progress-groups .progress-group', (gs) =>
    gs.map((g) => ({ mode: g.dataset.mode, title: g.querySelector('h3').textContent, charts: g.querySelectorAll('svg.spark').length, text: g.textContent })),
  );
  // Each group lists the competencies of its interview plans (scored only with a model:
  // offline feedback leaves them "not scored yet").
  const comps = await page.$$eval('#progress-groups .progress-group .competency-progress', (bs) =>
    bs.map((b) => ({ heading: b.querySelector('h4').textContent, cards: [...b.querySelectorAll('.competency-card')].map((c) => c.textContent) })),
  );
  assert.ok(comps.length >= 1, 'a Competencies block');
  for (const c of comps) {
    assert.equal(c.heading, 'Competencies');
    assert.ok(c.cards.length >= 1, 'with at least one competency');
    for (const card of c.cards) assert.match(card, /round/, card);
    for (const card of c.cards) assert.match(card, /not scored yet|out of 4/, card);
  }
  // The server groups by job and by how the answers were given ("voice" when any answer
  // was spoken): the backend interviews so far were answered by typing, so both jobs
  // have a text group here, apart from each other.
  assert.ok(groups.every((g) => g.mode === 'voice' || g.mode === 'text'), 'every group names its mode');
  const backend = groups.find((g) => /Backend Engineer/.test(g.title));
  const text = groups.find((g) => g.mode === 'text' && /Product Manager/.test(g.title));
  assert.ok(backend, `a group for the backend job: ${JSON.stringify(groups.map((g) => g.title))}`);
  assert.ok(text, 'a text group for the product job');
  assert.notEqual(backend, text, 'the two jobs are grouped apart');
  for (const g of [backend, text]) {
    assert.ok(g.charts >= 1, `${g.title} has charts`);
    assert.doesNotMatch(g.text, /\d ms\b/, 'no raw milliseconds');
    assert.match(g.text, /within the usual range|outside the usual range|better|worse|no change|one interview so far/);
  }
  await checkPage('42-history-progress');
  await page.setViewportSize({ width: 390, height: 844 });
  await assertFits('history at 390 px');
  await checkPage('56-history-390');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('rejoin: a reload mid-interview warns, then offers "Rejoin your interview, m:ss in"', async () => {
  await newInterview(jdBackend, resumeBackend, 'text');
  await join();
  await page.locator('#captions .caption-ai').first().waitFor({ timeout: 60000 });
  await page.setViewportSize({ width: 390, height: 844 });
  await assertFits('live at 390 px');
  await checkPage('54-live-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  const before = dialogs.length;
  await page.reload();
  assert.ok(dialogs.slice(before).includes('beforeunload'), `a warning before leaving the live interview: ${dialogs.slice(before)}`);
  // The reload lands in the interview's lobby, which offers to rejoin.
  await page.locator('#lobby').waitFor();
  assert.match(await page.textContent('#join'), /Rejoin your interview, \d+:\d\d in/);
  await page.goto(`${server.url}/#history`);
  await page.locator('#rejoin').waitFor();
  assert.match(await page.textContent('#rejoin'), /Rejoin your interview, \d+:\d\d in/);
  await checkPage('43-rejoin');
  await page.click('#rejoin button');
  await page.locator('#lobby').waitFor();
  await join();
  await page.waitForFunction(() => /Reconnected/.test(document.querySelector('#live-status').textContent), null, { timeout: 30000 });
  assert.ok((await page.locator('#captions .caption-ai').count()) >= 1, 'the captions so far are drawn again');
  await endAndWaitForResults();
});

test('library: the 64 KiB limit is counted next to the text, and the error shown there', async () => {
  await page.goto(`${server.url}/#library`);
  await page.locator('#library').waitFor();
  await page.fill('#jd-title', 'Too long');
  await page.fill('#jd-content', 'é'.repeat(40000)); // 80 000 bytes of UTF-8
  assert.equal(await page.getAttribute('#jd-content-count', 'data-over'), 'true');
  assert.match(await page.textContent('#jd-content-count'), /80,000 of 65,536 bytes/);
  await page.click('#jd-form button[type=submit]');
  await page.locator('#jd-content-error').waitFor();
  assert.match(await page.textContent('#jd-content-error'), /too long.*64 KiB/);
  assert.equal(await page.getAttribute('#jd-content', 'aria-invalid'), 'true');
  const color = await page.$eval('#jd-content-error', (e) => getComputedStyle(e).color);
  assert.equal(color, 'rgb(163, 38, 27)', 'the error colour');
  await page.fill('#jd-content', '');
});

test('every screen fits 390 px', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, id, name] of [['#library', '#library', '51-library-390'], ['#new', '#setup', '52-new-390']]) {
    await page.goto(`${server.url}/${hash}`);
    await page.locator(id).waitFor();
    await page.waitForTimeout(300);
    await assertFits(name);
    await checkPage(name);
  }
  await newInterview(jdBackend, resumeBackend, 'voice');
  await page.click('#mic-allow');
  await page.locator('#mic-controls').waitFor();
  await assertFits('lobby');
  await checkPage('53-lobby-390');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('dark theme follows prefers-color-scheme', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  const luminance = () =>
    page.evaluate(() => {
      const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    });
  for (const [hash, id, name] of [['#new', '#setup', '60-dark-new'], ['#library', '#library', '61-dark-library'], ['#history', '#history', '62-dark-history']]) {
    await page.goto(`${server.url}/${hash}`);
    await page.locator(id).waitFor();
    await page.waitForTimeout(500);
    assert.ok((await luminance()) < 0.2, `${name}: a dark background`);
    await checkPage(name);
  }
  await page.locator('#history-rows button', { hasText: 'Open' }).first().click();
  await page.waitForFunction(() => document.querySelector('#results-status').dataset.state === 'ready', null, { timeout: 60000 });
  await checkPage('63-dark-results');
  await page.setViewportSize({ width: 390, height: 844 });
  await assertFits('dark results at 390 px');
  await screenshot(page, '64-dark-results-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
});

test('the candidate’s words show live as they speak', { skip: transcribes ? false : `preppal serve has no ${TRANSCRIPTS_FLAG}` }, async () => {
  const other = await browser.context.newPage();
  // A microphone that speaks intro.wav after 20 s (the first line plays out first).
  await other.goto(`${server.url}/#new`);
  await other.locator('#setup').waitFor();
  await other.fill('#job-description', jdBackend);
  await other.fill('#resume', resumeBackend);
  await other.check('#mode-voice');
  await other.click('#start');
  await other.locator('#lobby').waitFor();
  await other.click('#mic-allow');
  await other.click('#join');
  await other.locator('#live').waitFor();
  // The page's microphone loops silence then speech; wait for the candidate's words.
  await other.waitForFunction(
    () => /backend|engineer|Rust|thanks/i.test(document.querySelector('#partial').textContent + [...document.querySelectorAll('#captions .caption-user')].map((c) => c.textContent).join(' ')),
    null,
    { timeout: 120000 },
  );
  await screenshot(other, '44-live-partial-words');
  await other.close();
});

test('no script errors on the page', () => {
  assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), []);
});
