// The page that draws one flow (GET /flows/{correlationId} as JSON), served by FlowPage.
// Plain browser JavaScript, an ES module: no build step, no inline script (the CSP allows none).
import cytoscape from './cytoscape.esm.min.mjs';

const TOKEN_KEY = 'flows.bearer-token';
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KIND_NAMES = {
  request: 'HTTP request',
  command: 'command',
  event: 'event',
  'reaction-step': 'saga step',
  publish: 'publish',
  'consumer-effect': 'consumer',
};
const COLOURS = {
  request: '#6c5ce7',
  command: '#0984e3',
  event: '#00a884',
  'reaction-step': '#e17055',
  publish: '#d4a017',
  'consumer-effect': '#636e72',
};

const $ = (selector) => document.querySelector(selector);
const status = $('#status');

function say(message, { error = false } = {}) {
  status.textContent = message;
  status.classList.toggle('error', error);
}

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** The correlation id the address names (`/flows/<id>`), or '' on the search page. */
function correlationIdOfAddress() {
  const match = /^\/flows\/([^/]+)$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : '';
}

function milliseconds(value) {
  if (value === null || value === undefined) return '–';
  return value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
}

async function load(correlationId) {
  const token = storedToken();
  if (!token) {
    document.body.dataset.state = 'needs-token';
    say('Paste an access token with the admin scope (in development, the one `npm start` printed), then press "Use token".');
    $('#token').focus();
    return;
  }
  document.body.dataset.state = 'loading';
  say(`Loading the flow ${correlationId}…`);
  let response;
  try {
    response = await fetch(`/flows/${encodeURIComponent(correlationId)}`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
  } catch (error) {
    document.body.dataset.state = 'failed';
    say(`The API could not be reached: ${error.message}`, { error: true });
    return;
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    document.body.dataset.state = 'failed';
    const why = {
      401: 'The token was refused (missing, expired or not for this API): paste another one.',
      403: 'The token lacks the admin scope this page needs.',
      404: `No stored event carries the correlation id ${correlationId}.`,
      400: 'That is not a correlation id: 1 to 128 letters, digits or ._:-',
    }[response.status];
    say(why ?? `The API answered ${response.status}: ${problem.detail ?? response.statusText}`, { error: true });
    if (response.status === 401 || response.status === 403) $('#token').focus();
    return;
  }
  draw(await response.json());
}

/** The gap since the node's cause, and how much later than recorded it is placed when its clock was behind. */
function afterCause(node) {
  if (node.gapMs === null) return '–';
  const gap = `+${milliseconds(node.gapMs)}`;
  return node.clockSkewMs ? `${gap} (its clock ${milliseconds(node.clockSkewMs)} ms behind)` : gap;
}

function draw(flow) {
  const nodes = flow.nodes;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  say(flow.truncated ? 'This correlation has more than 1,000 events: only the first 1,000 are shown.' : '');

  $('#summary-id').textContent = flow.correlationId;
  $('#summary-started').textContent = new Date(flow.startedAt).toLocaleString();
  $('#summary-duration').textContent = `${milliseconds(flow.durationMs)} ms`;
  $('#summary-count').textContent = String(nodes.length);
  $('#summary-consumer').textContent = flow.consumer.detail ? `${flow.consumer.status}: ${flow.consumer.detail}` : flow.consumer.status;
  $('#summary').hidden = false;

  const rows = nodes.map((node) => {
    const row = document.createElement('tr');
    row.className = node.kind;
    row.dataset.nodeId = node.id;
    const cause = node.causedBy ? byId.get(node.causedBy) : undefined;
    const cells = [
      milliseconds(node.offsetMs),
      afterCause(node),
      KIND_NAMES[node.kind] ?? node.kind,
      node.label,
      cause ? cause.label : '–',
      node.at ? node.at.slice(11, 23) : 'not recorded',
    ];
    cells.forEach((text, index) => {
      const cell = document.createElement('td');
      cell.textContent = text;
      if (index === 2) cell.className = 'kind';
      row.append(cell);
    });
    return row;
  });
  $('#steps tbody').replaceChildren(...rows);
  $('#steps').hidden = false;

  const elements = [
    ...nodes.map((node) => ({
      data: {
        id: node.id,
        kind: node.kind,
        label: `${KIND_NAMES[node.kind]}\n${node.label}\n${node.offsetMs === null ? 'time not recorded' : `at +${milliseconds(node.offsetMs)} ms`}`,
        colour: COLOURS[node.kind] ?? '#636e72',
        unknown: node.at === null ? 1 : 0,
      },
    })),
    ...nodes
      .filter((node) => node.causedBy && byId.has(node.causedBy))
      .map((node) => ({
        data: { id: `${node.causedBy}→${node.id}`, source: node.causedBy, target: node.id, label: node.gapMs === null ? '' : `+${milliseconds(node.gapMs)} ms` },
      })),
  ];
  // Causes above what they caused, a level per step of causation: the box grows with the depth,
  // so that a long saga stays readable instead of being shrunk to fit.
  const depth = new Map();
  const depthOf = (node) => {
    if (!depth.has(node.id)) depth.set(node.id, node.causedBy && byId.has(node.causedBy) ? depthOf(byId.get(node.causedBy)) + 1 : 0);
    return depth.get(node.id);
  };
  const levels = Math.max(...nodes.map(depthOf)) + 1;
  $('#graph').style.height = `${Math.max(360, levels * 112 + 40)}px`;

  const graph = cytoscape({
    container: $('#graph'),
    maxZoom: 1.4,
    elements,
    wheelSensitivity: 0.3,
    style: [
      {
        selector: 'node',
        style: {
          shape: 'round-rectangle',
          width: 240,
          height: 68,
          'background-color': 'data(colour)',
          'background-opacity': 0.12,
          'border-width': 2,
          'border-color': 'data(colour)',
          label: 'data(label)',
          'text-wrap': 'wrap',
          'text-max-width': 228,
          'text-valign': 'center',
          'font-size': 13,
          color: '#1e272e',
        },
      },
      { selector: 'node[unknown = 1]', style: { 'border-style': 'dashed' } },
      {
        selector: 'edge',
        style: {
          width: 1.5,
          'curve-style': 'bezier',
          'target-arrow-shape': 'triangle',
          'line-color': '#a4b0be',
          'target-arrow-color': '#a4b0be',
          label: 'data(label)',
          'font-size': 12,
          color: '#57606f',
          'text-background-color': '#ffffff',
          'text-background-opacity': 1,
          'text-background-padding': 2,
        },
      },
    ],
    // A tree per request, its root at the top.
    layout: {
      name: 'breadthfirst',
      directed: true,
      roots: nodes.filter((node) => !node.causedBy || !byId.has(node.causedBy)).map((node) => `#${CSS.escape(node.id)}`).join(', '),
      spacingFactor: 1,
      padding: 16,
    },
  });
  graph.ready(() => {
    graph.fit(undefined, 16);
    document.body.dataset.state = 'drawn';
  });
}

$('#search').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('#correlation-id').value.trim();
  if (!CORRELATION_ID.test(id)) {
    say('That is not a correlation id: 1 to 128 letters, digits or ._:-', { error: true });
    return;
  }
  location.assign(`/flows/${encodeURIComponent(id)}`);
});

$('#authorize').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('#token').value.trim().replace(/^Bearer\s+/i, '');
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#token').value = '';
  $('#token').placeholder = 'a token is in use (this tab only)';
  const id = correlationIdOfAddress();
  if (id) void load(id);
  else say('Token kept for this tab. Enter a correlation id.');
});

$('#forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  $('#token').placeholder = 'kept in this tab only';
  say('The token is forgotten.');
});

const initial = correlationIdOfAddress();
if (storedToken()) $('#token').placeholder = 'a token is in use (this tab only)';
if (initial) {
  $('#correlation-id').value = initial;
  void load(initial);
} else {
  document.body.dataset.state = 'empty';
  $('#correlation-id').focus();
}
