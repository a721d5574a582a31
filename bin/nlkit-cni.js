#!/usr/bin/env node
'use strict';
// The CNI plugin executable (install: see docs/guides/kubernetes-and-cni.md).
// Thin on purpose: the plugin is lib/cni; this reads stdin and runs it.
const { runCni } = require('../dist/bundle/cni.js');
const { runPlugin } = require('./nlkit-cni-exec.js');

const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  runCni(process.env, Buffer.concat(chunks).toString('utf8'), runPlugin).then(({ stdout, exitCode }) => {
    process.stdout.write(stdout);
    process.exitCode = exitCode;
  });
});
