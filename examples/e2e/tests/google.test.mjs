// "Sign in with Google" in the browser, against a fake OpenID provider on loopback (node's
// http server: discovery, key set, an authorization endpoint that approves at once, and a
// token endpoint that checks the PKCE verifier and signs RS256 ID tokens with the
// TEST-ONLY key of examples/tests/fixtures/oidc/). The real server runs with
// GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_ISSUER_URL pointing at it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSign, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fakeMicWav, launchBrowser, rootDir, screenshot, seriousViolations, startServer } from '../lib/harness.mjs';

const CLIENT_ID = 'preppal-e2e.apps.example';
const CLIENT_SECRET = 'test-only-e2e-secret';
const oidcDir = path.join(rootDir, 'examples', 'tests', 'fixtures', 'oidc');
const signingKey = readFileSync(path.join(oidcDir, 'provider.key.pem'), 'utf8');
const jwks = readFileSync(path.join(oidcDir, 'jwks.json'), 'utf8');

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** The fake provider; `nonceOverride` makes the next ID tokens carry another nonce. */
const provider = { url: '', codes: new Map(), nonceOverride: null, server: null };

function idToken(nonce) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'test-key-1' }));
  const claims = b64url(
    JSON.stringify({
      iss: provider.url,
      aud: CLIENT_ID,
      azp: CLIENT_ID,
      sub: '1234567890',
      email: 'ada.browser@example.com',
      email_verified: true,
      name: 'Ada Browser',
      nonce,
      iat: now,
      exp: now + 600,
    }),
  );
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(signingKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

async function handle(req, res) {
  const url = new URL(req.url, provider.url);
  const json = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/.well-known/openid-configuration') {
    return json(200, {
      issuer: provider.url,
      authorization_endpoint: `${provider.url}/authorize`,
      token_endpoint: `${provider.url}/token`,
      jwks_uri: `${provider.url}/jwks`,
    });
  }
  if (url.pathname === '/jwks') return json(200, JSON.parse(jwks));
  if (url.pathname === '/authorize') {
    const q = url.searchParams;
    const code = randomUUID();
    provider.codes.set(code, { challenge: q.get('code_challenge'), nonce: q.get('nonce'), redirect: q.get('redirect_uri') });
    const back = new URL(q.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state'));
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += chunk;
    const f = new URLSearchParams(body);
    const pending = provider.codes.get(f.get('code'));
    provider.codes.delete(f.get('code'));
    const verifier = f.get('code_verifier') || '';
    if (
      !pending ||
      f.get('client_id') !== CLIENT_ID ||
      f.get('client_secret') !== CLIENT_SECRET ||
      f.get('redirect_uri') !== pending.redirect ||
      b64url(createHash('sha256').update(verifier).digest()) !== pending.challenge
    ) {
      return json(400, { error: 'invalid_grant' });
    }
    return json(200, { access_token: 'at', token_type: 'Bearer', id_token: idToken(provider.nonceOverride || pending.nonce) });
  }
  return json(404, { error: 'not_found' });
}

let server;
let browser;
let page;

before(async () => {
  provider.server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  provider.server.listen(0, '127.0.0.1');
  await once(provider.server, 'listening');
  provider.url = `http://127.0.0.1:${provider.server.address().port}`;
  server = await startServer({
    GOOGLE_CLIENT_ID: CLIENT_ID,
    GOOGLE_CLIENT_SECRET: CLIENT_SECRET,
    GOOGLE_ISSUER_URL: provider.url,
  });
  browser = await launchBrowser(fakeMicWav());
  page = browser.context.pages()[0] || (await browser.context.newPage());
  page.setDefaultTimeout(15000);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (provider.server) provider.server.close();
});

test('a refused ID token brings the page back to sign-in with the reason', async () => {
  await page.goto(server.url);
  await page.locator('#google-signin').waitFor();
  provider.nonceOverride = 'a-nonce-from-another-attempt';
  await page.click('#google-signin');
  await page.waitForFunction(() => !document.querySelector('#signin-error').hidden);
  assert.match(await page.textContent('#signin-error'), /Google sign-in failed \(nonce_mismatch\)/);
  assert.equal(await page.isVisible('#user-box'), false);
  // The error code is read once and taken off the address.
  assert.equal(new URL(page.url()).search, '');
  provider.nonceOverride = null;
});

test('"Sign in with Google" signs in through the provider', async () => {
  // Both methods are offered on loopback: dev credentials and Google.
  assert.equal(await page.isVisible('#signin-form'), true);
  await screenshot(page, '30-signin-google');
  assert.deepEqual(await seriousViolations(page), [], 'axe-core on the sign-in page with Google');
  await page.click('#google-signin');
  await page.locator('#setup').waitFor();
  assert.equal(await page.textContent('#user-name'), 'Ada Browser (ada.browser@example.com)');
  const cookies = await browser.context.cookies(server.url);
  const session = cookies.find((c) => c.name === 'preppal_session');
  assert.ok(session, 'session cookie set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
});
