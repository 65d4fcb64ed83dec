// Sign-in: dev credentials or Google, and the quiet session check on load.

import { api } from '/assets/api.js';
import { $, setMessage } from '/assets/dom.js';

/** What the page says when Google sign-in comes back with `?signin_error=CODE`. */
const SIGNIN_ERRORS = {
  provider_refused: 'Google sign-in was cancelled or refused.',
  no_attempt: 'The Google sign-in took too long or was started elsewhere; try again.',
  provider_unavailable: 'Google could not be reached; try again in a moment.',
  email_not_verified: 'Your Google account has no verified email address.',
};

/** The sign-in screen of `app` (see app.js). */
export function createSignin(app) {
  const ui = {
    section: $('signin'),
    form: $('signin-form'),
    googleForm: $('google-form'),
    email: $('email'),
    name: $('name'),
    error: $('signin-error'),
    userBox: $('user-box'),
    userName: $('user-name'),
    signOut: $('sign-out'),
  };

  function signedIn(profile) {
    app.user = profile;
    ui.userName.textContent = profile.name ? `${profile.name} (${profile.email})` : profile.email;
    ui.userBox.hidden = false;
    app.nav.hidden = false;
  }

  function signedOut() {
    app.user = null;
    ui.userBox.hidden = true;
    app.nav.hidden = true;
  }

  /** Shows the sign-in methods `methods` offers (Google when configured, dev when on). */
  function showMethods(methods) {
    ui.googleForm.hidden = !methods.google;
    ui.form.hidden = !methods.dev;
    const code = new URLSearchParams(location.search).get('signin_error');
    if (code) {
      setMessage(ui.error, SIGNIN_ERRORS[code] || `Google sign-in failed (${code}); try again.`);
      history.replaceState(null, '', location.pathname + location.hash);
    } else if (!methods.dev && !methods.google) {
      setMessage(ui.error, 'No sign-in method is configured on this server.');
    }
  }

  async function methods() {
    try {
      return await api('auth/methods');
    } catch {
      return { dev: true, google: false }; // an older server: dev sign-in only
    }
  }

  /**
   * On load: asks `auth/methods` whether the session is valid (a signed-out visit logs no
   * 401), then reads the profile only when it is.
   */
  async function checkProfile() {
    const m = await methods();
    if (m.signed_in === false) {
      signedOut();
      showMethods(m);
    } else {
      try {
        signedIn(await api('user.getProfile'));
      } catch (e) {
        signedOut();
        if (e.status !== 401) setMessage(ui.error, e.message);
        showMethods(m);
      }
    }
    await app.route();
  }

  ui.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setMessage(ui.error, '');
    const b = ui.form.querySelector('button');
    b.disabled = true;
    try {
      const reply = await api('auth/dev', { email: ui.email.value.trim(), name: ui.name.value.trim() });
      let profile = reply.user;
      try {
        profile = await api('user.getProfile'); // with what the server says about the interviewer
      } catch {
        // The sign-in reply is enough to go on.
      }
      signedIn(profile);
      await app.route();
      $('jd-pick').focus();
    } catch (e) {
      setMessage(ui.error, `Sign-in failed: ${e.message}`);
    } finally {
      b.disabled = false;
    }
  });

  ui.signOut.addEventListener('click', async () => {
    try {
      await api('auth/signout');
    } catch {
      // The cookie may already be gone; the sign-in form is shown either way.
    }
    signedOut();
    showMethods(await methods());
    app.show(ui.section);
    if (!ui.form.hidden) ui.email.focus();
  });

  return { section: ui.section, checkProfile };
}
