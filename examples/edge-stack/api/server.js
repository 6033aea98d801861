'use strict';
// server.js: the edge box's HTTP API over the readings the worker writes.
//
//   GET /health           {"status":"ok"} when the database answers, 503 and the reason when not
//   GET /readings?limit=N the N newest readings (default 20, at most 1000) as JSON, newest first
//   GET /                 a small page listing the newest readings, refreshed every 2 s
//
// The database comes from libpq's variables (PGHOST, PGUSER, PGPASSWORD, PGDATABASE), which node-pg
// reads too. A database restart costs the requests made while it is down a 503; the pool opens new
// connections once it is back. SIGTERM and SIGINT stop the server after the requests in progress.
const http = require('http');
const { Pool } = require('pg');

const PORT = Number(process.env.PORT || 8080);
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

function log(msg) {
  console.log(`${new Date().toISOString().slice(11, 19)} ${msg}`);
}

const pool = new Pool({
  max: 4,
  application_name: 'api',
  connectionTimeoutMillis: 2000,
  idleTimeoutMillis: 10000,
  query_timeout: 5000,
});
// An idle pooled connection the server closed (a restart) lands here; the pool drops it. Without a
// listener, node would end the process.
pool.on('error', (err) => log(`database connection lost: ${err.message}`));

// latest returns the newest readings, newest first.
async function latest(limit) {
  const { rows } = await pool.query(
    'SELECT id, ts, sensor, value, label FROM readings ORDER BY id DESC LIMIT $1', [limit]);
  // bigint ids come back as strings; they stay far below 2^53.
  return rows.map((r) => ({ id: Number(r.id), ts: r.ts, sensor: r.sensor, value: r.value, label: r.label }));
}

// parseLimit returns the limit asked for, or null when it is not an integer from 1 to MAX_LIMIT.
function parseLimit(raw) {
  if (raw === null) return DEFAULT_LIMIT;
  if (!/^[0-9]{1,4}$/.test(raw)) return null;
  const n = Number(raw);
  return n >= 1 && n <= MAX_LIMIT ? n : null;
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

function json(res, status, value, headers) {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value) + '\n', headers);
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function page(rows, problem) {
  const body = problem
    ? `<p class="problem">The database is not answering: ${escapeHTML(problem)}</p>`
    : rows.length === 0
      ? '<p>No readings yet: the worker writes some every second.</p>'
      : `<table>
<thead><tr><th>#</th><th>time (UTC)</th><th>sensor</th><th>value</th><th>detection</th></tr></thead>
<tbody>
${rows.map((r) => `<tr class="${escapeHTML(r.label)}"><td>${r.id}</td><td>${escapeHTML(r.ts.toISOString().slice(11, 23))}</td>` +
    `<td>${escapeHTML(r.sensor)}</td><td>${escapeHTML(r.value.toFixed(2))}</td><td>${escapeHTML(r.label)}</td></tr>`).join('\n')}
</tbody>
</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<title>edge-stack: latest readings</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 46em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .25em .6em; text-align: left; border-bottom: 1px solid #ddd; }
td:nth-child(4) { text-align: right; font-variant-numeric: tabular-nums; }
tr.warning td:last-child { color: #a60; font-weight: bold; }
tr.anomaly td:last-child { color: #c00; font-weight: bold; }
.problem { color: #c00; }
footer { margin-top: 1em; color: #777; font-size: 90%; }
</style>
</head>
<body>
<h1>Latest readings</h1>
${body}
<footer>Written by the worker, served by the api from PostgreSQL, all run by berth.
JSON: <a href="/readings?limit=${DEFAULT_LIMIT}">/readings</a>, <a href="/health">/health</a>.</footer>
</body>
</html>
`;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return json(res, 405, { error: 'only GET and HEAD' }, { Allow: 'GET, HEAD' });
  }
  switch (url.pathname) {
    case '/health':
      try {
        await pool.query('SELECT 1');
        return json(res, 200, { status: 'ok', database: 'ok' });
      } catch (err) {
        return json(res, 503, { status: 'unavailable', database: err.message });
      }
    case '/readings': {
      const limit = parseLimit(url.searchParams.get('limit'));
      if (limit === null) {
        return json(res, 400, { error: `limit must be an integer from 1 to ${MAX_LIMIT}` });
      }
      try {
        return json(res, 200, await latest(limit));
      } catch (err) {
        log(`GET /readings: ${err.message}`);
        return json(res, 503, { error: `database unavailable: ${err.message}` });
      }
    }
    case '/':
      try {
        return send(res, 200, 'text/html; charset=utf-8', page(await latest(DEFAULT_LIMIT)));
      } catch (err) {
        log(`GET /: ${err.message}`);
        return send(res, 503, 'text/html; charset=utf-8', page([], err.message));
      }
    default:
      return json(res, 404, { error: `no such path: ${url.pathname}` });
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    log(`${req.method} ${req.url}: ${err.stack}`);
    if (!res.headersSent) json(res, 500, { error: 'internal error' });
    else res.destroy();
  });
});
server.keepAliveTimeout = 5000;

server.listen(PORT, () => log(`listening on :${PORT}`));

function stop(signal) {
  log(`${signal}: stopping`);
  server.close(() => pool.end().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 3000).unref(); // keep-alive clients do not hold the stop up
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
