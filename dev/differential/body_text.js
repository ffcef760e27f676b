#!/usr/bin/env node
// Adds to every "send" outcome of oracle.js's output the request body exactly as Segment sent
// it ("body_text": JSON.stringify of the body the oracle parsed back: the same text, since
// JSON.stringify(JSON.parse(s)) === s for JSON.stringify's own output).
'use strict';
const readline = require('readline');
(async () => {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const group = JSON.parse(line);
    for (const entry of group.expected) {
      for (const r of entry.results) {
        if (r.outcome === 'send') r.request.body_text = JSON.stringify(r.request.body);
      }
    }
    process.stdout.write(JSON.stringify(group) + '\n');
  }
})();
