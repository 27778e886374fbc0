// Signing in. The server always wants a SigV4 signature; whether any key
// will do (--auth=none) or only the keys in its credentials file
// (--auth=sigv4) shows in the answer to one ListStreams signed with the
// default key. In the second case a form asks for a key, which is kept in
// sessionStorage: only this tab has it, and it goes when the tab closes.

import { call, credentials, setCredentials, signedIn, isAuthError, defaultCredentials } from './api.js';
import { h } from './ui.js';
import { useStylesheet } from './css.js';

let pending = null;

// ensureLogin resolves once requests are signed with a key the server
// takes: at once with --auth=none or a stored key that still works,
// after sign-in otherwise. It also shows who is signed in and a sign-out
// control in #login (app.js's top bar; a corner of the page without it).
export function ensureLogin() {
  if (!pending) pending = run();
  return pending;
}

async function probe(creds) {
  try {
    await call('kinesis', 'ListStreams', { Limit: 1 }, { credentials: creds });
    return null;
  } catch (err) {
    return err;
  }
}

// accepted reports whether a probe's outcome shows the key works: a key
// that may not list streams is still a key the server knows.
function accepted(err) {
  return !err || err.code === 'AccessDeniedException';
}

async function run() {
  useStylesheet('monitor.css');
  const had = signedIn();
  const err = await probe(credentials());
  if (accepted(err) && (had || !err)) {
    showSession();
    return;
  }
  if (!isAuthError(err) && !(err && err.code === 'AccessDeniedException')) {
    // The server is down or failing: the pages show their own errors,
    // and a sign-in form would not help.
    showSession();
    return;
  }
  if (had) setCredentials(null); // revoked or changed: ask again
  await signIn({ required: true, error: had ? err : null });
  showSession();
}

// signIn shows the form until a key works (or, when not required, the
// form is cancelled).
function signIn({ required, error }) {
  return new Promise(resolve => {
    const cur = signedIn() ? credentials() : { region: credentials().region };
    const key = h('input', { id: 'login-access-key', name: 'accessKeyId', autocomplete: 'username', required: true, spellcheck: 'false', value: cur.accessKeyId || '' });
    const secret = h('input', { id: 'login-secret', name: 'secretAccessKey', type: 'password', autocomplete: 'current-password', required: true });
    const token = h('input', { id: 'login-session-token', name: 'sessionToken', autocomplete: 'off', spellcheck: 'false' });
    const region = h('input', { id: 'login-region', name: 'region', required: true, spellcheck: 'false', value: cur.region || defaultCredentials.region });
    const msg = h('div', { id: 'login-error', class: 'login-error', role: 'alert' });
    const submit = h('button', { id: 'login-submit', class: 'btn primary', type: 'submit' }, 'Sign in');
    const cancel = required ? null : h('button', { class: 'btn', type: 'button', onclick: () => done(false) }, 'Cancel');
    const form = h('form', { id: 'login-form', class: 'login card', autocomplete: 'on' },
      h('h1', {}, 'Sign in to Rivulet'),
      h('p', { class: 'muted' }, required
        ? 'This server checks signatures (--auth=sigv4). Sign in with an access key from its credentials file; the console signs every request with it, and the key\'s policies apply.'
        : 'Sign requests with another key. With --auth=none, a 12-digit access key id names the account to act in.'),
      h('label', { class: 'field' }, 'Access key ID', key),
      h('label', { class: 'field' }, 'Secret access key', secret),
      h('label', { class: 'field' }, 'Session token (temporary credentials only)', token),
      h('label', { class: 'field' }, 'Region', region),
      msg,
      h('div', { class: 'login-actions' }, submit, cancel),
      h('p', { class: 'muted small' }, 'The key stays in this tab (sessionStorage) until you sign out or close it.'));
    const overlay = h('div', { class: 'login-overlay', 'data-testid': 'login-dialog' }, form);
    if (error) showError(msg, error);
    document.body.append(overlay);
    key.focus();

    function done(ok) {
      overlay.remove();
      resolve(ok);
    }

    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      const c = {
        accessKeyId: key.value.trim(),
        secretAccessKey: secret.value,
        sessionToken: token.value.trim(),
        region: region.value.trim() || defaultCredentials.region,
      };
      submit.disabled = true;
      msg.replaceChildren(h('span', { class: 'muted' }, 'Checking…'));
      const err = await probe(c);
      submit.disabled = false;
      if (accepted(err)) {
        setCredentials(c);
        done(true);
        if (!required) location.reload(); // every page shown was signed with the old key
        return;
      }
      showError(msg, err);
    });
  });
}

function showError(msg, err) {
  const text = {
    UnrecognizedClientException: 'The server knows no such access key.',
    InvalidSignatureException: 'The signature does not match: check the secret access key (and the region).',
    ExpiredTokenException: 'The key has expired.',
  }[err.code];
  msg.replaceChildren(h('strong', {}, err.code || 'Error'), ': ', text || err.message);
  if (text) msg.append(h('div', { class: 'muted small' }, err.message));
}

// showSession shows who is signed in, with the control to sign out, or
// to sign in with a key when none is needed.
function showSession() {
  // app.js's top bar has #login; a page without it gets a corner box.
  let box = document.getElementById('login') || document.getElementById('session');
  if (!box) {
    box = h('div', { id: 'session', class: 'floating' });
    document.body.append(box);
  }
  box.classList.add('session');
  const c = credentials();
  if (signedIn()) {
    box.replaceChildren(
      h('span', { class: 'session-key', id: 'session-key', title: 'Requests are signed with this key' }, c.accessKeyId),
            h('button', {
        id: 'signout', class: 'btn small', type: 'button',
        onclick: () => {
          setCredentials(null);
          location.reload();
        },
      }, 'Sign out'));
  } else {
    box.replaceChildren(
      h('span', { class: 'muted', title: 'The server accepts any signature (--auth=none)' }, 'No sign-in needed'),
      h('button', { id: 'signin', class: 'btn small', type: 'button', onclick: () => signIn({ required: false }) }, 'Use a key…'));
  }
}
