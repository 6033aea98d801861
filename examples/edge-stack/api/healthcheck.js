'use strict';
// healthcheck.js: exit 0 when the api's /health answers 200 within 2 s (the image has no curl).
// Its output is what `berth ps --format json` shows in HealthLog.
const http = require('http');

const req = http.get({ host: '127.0.0.1', port: process.env.PORT || 8080, path: '/health', timeout: 2000 }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => { body += chunk; });
  res.on('end', () => {
    console.log(res.statusCode, body.trim());
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
req.on('error', (err) => {
  console.log(err.message);
  process.exit(1);
});
