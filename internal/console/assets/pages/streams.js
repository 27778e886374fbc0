// Streams: the list (ListStreams, a page at a time), create and delete.

import { call } from '../api.js';
import { h, fmtTime, status, notice, busy, streamHref, errorBox } from '../ui.js';

export async function render(el, params) {
  // ListStreams a page of 100 streams at a time, or as many as the route
  // asks for (#/streams?limit=10), at most 100.
  const page = Math.min(Math.max(Number(params.query && params.query.get('limit')) || 100, 1), 100);
  const msg = h('div', { id: 'streams-message', class: 'message' });
  const tbody = h('tbody');
  const more = h('button', { id: 'streams-more', class: 'btn', type: 'button', hidden: true }, 'Load more');
  const count = h('span', { class: 'muted', id: 'streams-count' });
  let nextToken = null;
  let shown = 0;

  const nameInput = h('input', {
    id: 'stream-name', name: 'name', required: true, maxlength: 128,
    placeholder: 'my-stream', autocomplete: 'off',
  });
  const shardInput = h('input', { id: 'shard-count', name: 'shards', type: 'number', min: 1, value: 1, required: true });
  const provisioned = h('input', { id: 'mode-provisioned', type: 'radio', name: 'mode', value: 'PROVISIONED', checked: true });
  const onDemand = h('input', { id: 'mode-on-demand', type: 'radio', name: 'mode', value: 'ON_DEMAND' });
  const shardField = h('label', { class: 'field' }, 'Shards', shardInput);
  const syncMode = () => {
    shardField.hidden = onDemand.checked;
    shardInput.required = !onDemand.checked;
  };
  provisioned.addEventListener('change', syncMode);
  onDemand.addEventListener('change', syncMode);
  const createBtn = h('button', { id: 'create-stream', class: 'btn primary', type: 'submit' }, 'Create stream');
  const createMsg = h('div', { id: 'create-message', class: 'message' });

  const form = h('form', { id: 'create-stream-form', class: 'card form-row', 'data-testid': 'create-stream-form' },
    h('h2', {}, 'Create a stream'),
    h('div', { class: 'fields' },
      h('label', { class: 'field grow' }, 'Name', nameInput),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Capacity mode'),
        h('label', { class: 'inline' }, provisioned, 'Provisioned'),
        h('label', { class: 'inline' }, onDemand, 'On-demand')),
      shardField,
      h('div', { class: 'field' }, createBtn)),
    createMsg);

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const name = nameInput.value.trim();
    const input = { StreamName: name };
    if (onDemand.checked) input.StreamModeDetails = { StreamMode: 'ON_DEMAND' };
    else {
      input.StreamModeDetails = { StreamMode: 'PROVISIONED' };
      input.ShardCount = Number(shardInput.value);
    }
    try {
      await busy(createBtn, () => call('kinesis', 'CreateStream', input));
      location.hash = streamHref(name);
    } catch (err) {
      notice(createMsg, 'error', err);
    }
  });

  el.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Streams'), count),
    form,
    msg,
    h('div', { class: 'card' },
      h('table', { id: 'streams-table', class: 'table', 'data-testid': 'streams-table' },
        h('thead', {}, h('tr', {},
          h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Capacity mode'),
          h('th', {}, 'Created'), h('th', { class: 'actions' }, ''))),
        tbody),
      h('div', { class: 'table-foot' }, more)));

  function row(s) {
    const name = s.StreamName;
    const mode = s.StreamModeDetails ? s.StreamModeDetails.StreamMode : 'PROVISIONED';
    const del = h('button', { class: 'btn danger small', type: 'button', 'data-testid': 'delete-stream' }, 'Delete');
    const tr = h('tr', { 'data-testid': 'stream-row', 'data-stream': name },
      h('td', {}, h('a', { href: streamHref(name), class: 'stream-link' }, name)),
      h('td', {}, status(s.StreamStatus)),
      h('td', {}, mode === 'ON_DEMAND' ? 'On-demand' : 'Provisioned'),
      h('td', { class: 'nowrap' }, fmtTime(s.StreamCreationTimestamp)),
      h('td', { class: 'actions' }, del));
    del.addEventListener('click', () => confirmDelete(tr, name));
    return tr;
  }

  // Deleting asks first, in the row itself: the stream's records go with it.
  function confirmDelete(tr, name) {
    if (tr.nextElementSibling && tr.nextElementSibling.classList.contains('confirm-row')) return;
    const force = h('input', { type: 'checkbox', id: 'delete-force-' + name, 'data-testid': 'delete-force' });
    const yes = h('button', { class: 'btn danger', type: 'button', 'data-testid': 'confirm-delete' }, 'Delete ' + name);
    const no = h('button', { class: 'btn', type: 'button', 'data-testid': 'cancel-delete' }, 'Cancel');
    const out = h('div', { class: 'message' });
    const confirmRow = h('tr', { class: 'confirm-row', 'data-testid': 'confirm-row', 'data-stream': name },
      h('td', { colspan: 5 },
        h('div', { class: 'confirm' },
          h('span', {}, 'Delete stream ', h('strong', {}, name), ' and every record in it? This cannot be undone.'),
          h('label', { class: 'inline' }, force, 'Also deregister its consumers'),
          yes, no),
        out));
    no.addEventListener('click', () => confirmRow.remove());
    yes.addEventListener('click', async () => {
      try {
        await busy(yes, () => call('kinesis', 'DeleteStream', { StreamName: name, EnforceConsumerDeletion: force.checked }));
        confirmRow.remove();
        tr.remove();
        shown--;
        count.textContent = `${shown}${nextToken ? '+' : ''} streams`;
        notice(msg, 'ok', `Stream ${name} is being deleted.`);
      } catch (err) {
        notice(out, 'error', err);
      }
    });
    tr.after(confirmRow);
  }

  async function load(first) {
    const input = first ? { Limit: page } : { NextToken: nextToken, Limit: page };
    const out = await call('kinesis', 'ListStreams', input);
    // Old servers answer only StreamNames.
    const summaries = out.StreamSummaries && out.StreamSummaries.length === (out.StreamNames || []).length
      ? out.StreamSummaries
      : (out.StreamNames || []).map(n => ({ StreamName: n }));
    for (const s of summaries) tbody.append(row(s));
    shown += summaries.length;
    nextToken = out.HasMoreStreams ? out.NextToken || null : null;
    more.hidden = !nextToken;
    count.textContent = `${shown}${nextToken ? '+' : ''} streams`;
    if (first && shown === 0) {
      tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, 'No streams yet: create one above.')));
    }
  }

  more.addEventListener('click', async () => {
    try {
      await busy(more, () => load(false));
    } catch (err) {
      notice(msg, 'error', err);
    }
  });

  try {
    await load(true);
  } catch (err) {
    msg.replaceChildren(errorBox(err));
  }
}
