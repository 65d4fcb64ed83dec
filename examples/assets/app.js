// The Preppal page: sign in, keep a library of job descriptions and resumes, set up an
// interview, check the microphone and speakers in the lobby, talk (or type) with the AI
// interviewer over the interview WebSocket, then read the feedback and the transcript;
// the history lists past interviews and the progress across them.
//
// This module routes between the screens, each in its own module:
//   signin.js (sign-in), library.js, setup.js (new interview), lobby.js, live.js
//   (the call: player.js, captions.js, wire.js), results.js (questions.js), history.js
//   (chart.js); shared: api.js, dom.js, format.js, audio.js.
// Screens keep their own state; what they share goes through the `app` object below.
//
// Views are sections of index.html chosen by the URL fragment: #new, #library, #history,
// #lobby/{interviewId}, #results/{interviewId}; the live view has no fragment of its own
// (it exists only while its WebSocket does).
//
// Flow (preppal-design.md, "Interview lifecycle"):
//   POST /api/auth/methods                   -> {dev, google, signed_in}
//   POST /api/user.getProfile                -> the user (and the interviewer's kind)
//   POST /api/auth/dev                       -> session cookie (HttpOnly)
//   GET  /api/auth/google/start              -> Google sign-in, back to / with the cookie
//   POST /api/interview.getCurrent           -> an interview in progress, to rejoin
//   POST /api/interview.createSession        -> Interview {id, status, ...}
//   POST /api/interview.generateWorkerToken  -> {token, expires_at, ws_url, worker_url}
//   WebSocket ws_url (binary protobuf frames, proto/interview.proto): ws_url is on the
//   worker the web tier chose (worker_url), so a reconnect after a worker died asks for a
//   new token and lands on a live worker
//   POST /api/interview.getById every 1 s until COMPLETED or ERROR
//   POST /api/interview.getFeedback, /api/interview.getTranscript
//
// Every piece of user or model text reaches the page through `textContent`.

import { api } from '/assets/api.js';
import { $, button, clear, el, setMessage } from '/assets/dom.js';
import { formatDuration, jobText } from '/assets/format.js';
import { createHistory } from '/assets/history.js';
import { createLibrary } from '/assets/library.js';
import { createLive } from '/assets/live.js';
import { createLobby } from '/assets/lobby.js';
import { createResults } from '/assets/results.js';
import { createSetup } from '/assets/setup.js';
import { createSignin } from '/assets/signin.js';

function main() {
  const nav = $('nav');
  const notice = $('notice');
  const rejoin = $('rejoin');

  /** What the screens share: the signed-in user, navigation, the last end reason. */
  const app = {
    /** The signed-in user's profile (`user.getProfile`), or null. */
    user: null,
    nav,
    /** Why the last interview ended, shown once on its results. */
    endedReason: '',
    show,
    go,
    route,
    /** A message at the top of the page (cleared on the next navigation). */
    notice: (text) => setMessage(notice, text),
  };

  const sections = [];
  function show(section) {
    for (const s of sections) s.hidden = s !== section;
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.view === section.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const heading = section.querySelector('h2');
    document.title = heading ? `${heading.textContent} · Preppal` : 'Preppal';
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  const signin = createSignin(app);
  const library = createLibrary();
  const setup = createSetup(app, library);
  const results = createResults(app);
  const history = createHistory(app);
  let lobby = null;
  const live = createLive(app, (text) => lobby.refused(text));
  lobby = createLobby(app, live);
  sections.push(signin.section, library.section, setup.section, lobby.section, live.section, results.section, history.section);

  /** "Rejoin your interview, 1:53 in" when one is in progress (`interview.getCurrent`). */
  async function offerRejoin(name, id) {
    rejoin.hidden = true;
    if (name === 'lobby') return;
    let current = null;
    try {
      current = (await api('interview.getCurrent')).interview;
    } catch {
      return; // nothing to offer
    }
    if (!current || current.status !== 'IN_PROGRESS' || live.isLive()) return;
    // The results of an interview that has just ended are no place to offer it again.
    if (name === 'results' && current.id === id) return;
    if (location.hash.replace(/^#/, '').split('/')[0] !== name) return; // moved on meanwhile
    clear(rejoin);
    const since = current.started_at_ms ? Date.now() - current.started_at_ms : 0;
    const text = el('p', '', `Your interview for ${jobText(current)} is in progress${since > 0 ? `, ${formatDuration(since)} in` : ''}.`);
    rejoin.append(
      text,
      button(`Rejoin your interview${since > 0 ? `, ${formatDuration(since)} in` : ''}`, '', () => go(`#lobby/${current.id}`)),
    );
    rejoin.hidden = false;
  }

  /** Shows the view the URL fragment names. */
  async function route() {
    setMessage(notice, '');
    if (!app.user) {
      rejoin.hidden = true;
      show(signin.section);
      return;
    }
    if (live.isLive()) {
      show(live.section); // the live view stays until the interview ends
      return;
    }
    lobby.stop();
    const [name, id] = location.hash.replace(/^#/, '').split('/');
    offerRejoin(name, id);
    switch (name) {
      case 'library':
        show(library.section);
        await library.load();
        break;
      case 'history':
        await history.open();
        break;
      case 'lobby':
        if (id) await lobby.open(id);
        break;
      case 'results':
        if (id) await results.open(id);
        break;
      default:
        await setup.open();
        break;
    }
  }

  window.addEventListener('hashchange', () => {
    route();
  });

  signin.checkProfile();
}

main();
