#!/usr/bin/env node
// Records what Segment's runtime renders for @liquid templates: one JSON line in per case,
// {"t": template, "d": event}, one line out: the input line as written plus "r": rendered or "e": message.
// It calls actions-core's own evaluateLiquid (the liquidjs 10.30.1 engine with actions-core's
// options and disabled tags/filters), in a UTC process as Segment's runtime is.
//   node dev/differential/liquid_record.js --env /work/segment-reference < cases.jsonl > out.jsonl
// A test-time aid only: the suite reads the recorded lines, never runs this.
'use strict';
process.env.TZ = 'UTC';
const path = require('path');
const readline = require('readline');
const { createRequire } = require('module');

const i = process.argv.indexOf('--env');
const envDir = path.resolve(i >= 0 ? process.argv[i + 1] : process.env.ORACLE_ENV || '/work/segment-reference');
const envRequire = createRequire(path.join(envDir, 'package.json'));
const core = path.dirname(envRequire.resolve('@segment/actions-core'));
const { evaluateLiquid } = envRequire(path.join(core, 'mapping-kit', 'liquid-directive.js'));

(async () => {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    let outcome;
    try {
      // the event is parsed from this line for every case: increment/decrement write into it
      outcome = { r: evaluateLiquid(c.t, c.d === undefined ? {} : c.d) };
    } catch (e) {
      outcome = { e: e && e.message !== undefined ? String(e.message) : String(e) };
    }
    // the input line is kept as written (JSON.stringify would round big integers and drop -0)
    const head = line.trimEnd().slice(0, -1);
    process.stdout.write(head + ',' + JSON.stringify(outcome).slice(1) + '\n');
  }
})();
