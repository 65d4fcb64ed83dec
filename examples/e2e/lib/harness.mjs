// What the browser tests share: the real preppal server on a free loopback port, Debian's
// chromium driven by playwright-core with a fixture WAV as the fake microphone,
// screenshots into e2e/artifacts/, and the axe-core check.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const e2eDir = path.resolve(here, '..');
export const rootDir = path.resolve(e2eDir, '..', '..');
export const artifactsDir = path.join(e2eDir, 'artifacts');
/** The repository's fixtures/ (job descriptions, resumes, WAVs); PREPPAL_FIXTURES overrides. */
export const fixturesDir = process.env.PREPPAL_FIXTURES || path.join(rootDir, 'fixtures');
const binary = process.env.PREPPAL_BIN || path.join(rootDir, 'target', 'debug', 'preppal');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * Starts `preppal serve` (offline: the built-in Gemini Live simulator plays the
 * interviewer) on a free port with a fresh data directory; resolves once /healthz answers.
 * `extraEnv` adds environment variables (for example GOOGLE_CLIENT_ID), `extraArgs` arguments
 * of `preppal serve`.
 */
export async function startServer(extraEnv = {}, extraArgs = []) {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`cargo build -p preppal-examples\` first`);
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'preppal-e2e-data-'));
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' };
  delete env.GEMINI_API_KEY;
  delete env.GOOGLE_CLIENT_ID;
  delete env.GOOGLE_CLIENT_SECRET;
  delete env.GOOGLE_ISSUER_URL;
  delete env.GOOGLE_REDIRECT_URL;
  Object.assign(env, extraEnv);
  const child = spawn(binary, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir, ...extraArgs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  mkdirSync(artifactsDir, { recursive: true });
  const log = [];
  child.stdout.on('data', (d) => log.push(d));
  child.stderr.on('data', (d) => log.push(d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) {
        return {
          url,
          async stop() {
            child.kill('SIGTERM');
            if (child.exitCode === null) await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
            if (child.exitCode === null) child.kill('SIGKILL');
            writeFileSync(path.join(artifactsDir, 'server.log'), Buffer.concat(log));
            rmSync(dataDir, { recursive: true, force: true });
          },
        };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the server did not start:\n${Buffer.concat(log).toString()}`);
}

/** Whether `preppal serve` takes `flag` (from its `--help`). */
export function serveHasFlag(flag) {
  if (!existsSync(binary)) return false;
  const out = spawnSync(binary, ['serve', '--help'], { encoding: 'utf8' });
  return `${out.stdout}${out.stderr}`.includes(flag);
}

/** Reads a PCM16 WAV's samples (first channel) and rate. */
function readWav(file) {
  const buf = readFileSync(file);
  let at = 12;
  let fmt = null;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      fmt = { format: buf.readUInt16LE(at + 8), channels: buf.readUInt16LE(at + 10), rate: buf.readUInt32LE(at + 12), bits: buf.readUInt16LE(at + 22) };
    } else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.bits !== 16) throw new Error(`${file}: not PCM16`);
      const frames = Math.floor(size / (2 * fmt.channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i += 1) samples[i] = buf.readInt16LE(at + 8 + i * 2 * fmt.channels);
      return { rate: fmt.rate, samples };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

/**
 * The fake microphone: `speechSeconds` of a fixture answer (intro.wav, 16 000 Hz PCM16
 * mono) then `silenceSeconds` of silence, as a WAV chromium loops. The speech passes the
 * lobby's level check; the silence lets the interviewer's first line play uninterrupted.
 */
export function fakeMicWav(speechSeconds = 3, silenceSeconds = 40) {
  return micWav([
    ['speech', speechSeconds],
    ['silence', silenceSeconds],
  ]);
}

/**
 * A fake microphone of `parts`, each `['speech' | 'silence', seconds]` in order: speech is
 * intro.wav from its start (16 000 Hz PCM16 mono), silence is zeros.
 */
export function micWav(parts) {
  const { rate, samples } = readWav(path.join(fixturesDir, 'audio', 'intro.wav'));
  const pieces = parts.map(([kind, seconds]) => {
    const n = Math.round(seconds * rate);
    return kind === 'speech' ? samples.subarray(0, Math.min(samples.length, n)) : new Int16Array(n);
  });
  const pcm = new Int16Array(pieces.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    pcm.set(p, at);
    at += p.length;
  }
  const total = pcm.length;
  const out = Buffer.alloc(44 + total * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + total * 2, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(total * 2, 40);
  for (let i = 0; i < pcm.length; i += 1) out.writeInt16LE(pcm[i], 44 + i * 2);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'preppal-e2e-mic-')), 'mic.wav');
  writeFileSync(file, out);
  return file;
}

/**
 * Debian's chromium, headless, with `wav` as the microphone and a fresh profile;
 * `viewport` (CSS pixels) defaults to 1100 × 900.
 */
export async function launchBrowser(wav, viewport = { width: 1100, height: 900 }) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'preppal-e2e-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    acceptDownloads: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as e2e/artifacts/{name}.png. */
export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2 A/AA rules and best practices) on what the page shows; returns
 * the serious and critical violations as `rule: target` strings.
 */
export async function seriousViolations(page) {
  // Evaluated through the DevTools protocol, so the page's CSP does not apply.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}: ${v.help}): ${v.targets.join(', ')}`);
}
