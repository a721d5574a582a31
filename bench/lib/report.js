'use strict';
/** Console tables and the generated docs/performance.md. */
const { formatValue } = require('./context');

function groupsOf(results) {
  const groups = new Map();
  for (const r of results) {
    if (!groups.has(r.group)) groups.set(r.group, []);
    groups.get(r.group).push(r);
  }
  return groups;
}

/** How many times better `r` is than the alternative `alt` (both medians of the same run). */
function ratio(r, alt) {
  if (!r || !alt || r.impl !== 'nlkit' || r.kind !== alt.kind) return undefined;
  if (r.kind === 'rate') return r.median / alt.median;
  if (r.kind === 'time') return alt.median / r.median;
  return undefined;
}

function formatRatio(x) {
  if (x === undefined || !Number.isFinite(x)) return '—';
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
}

function range(r) {
  if (!r.samples || r.samples.length < 2) return '';
  return `${formatValue(r.min)} – ${formatValue(r.max)}`;
}

function rowsOf(rows) {
  const alts = rows.filter((r) => r.impl === 'alternative' && (r.kind === 'rate' || r.kind === 'time'));
  const timed = rows.some((r) => r.runs);
  const ranged = rows.some((r) => r.samples && r.samples.length > 1);
  return {
    alts,
    header: ['variant', 'median', ...(ranged ? ['min – max'] : []), ...(timed ? ['runs (+ warm-up)'] : []), ...alts.map((a) => `vs ${a.variant}`)],
    body: rows.map((r) => [
      r.variant + (r.mode === 'fresh' ? ' [fresh process]' : '') + (r.note ? ' *' : ''),
      formatValue(r.median, r.unit),
      ...(ranged ? [range(r)] : []),
      ...(timed ? [r.runs ? `${r.runs}${r.warmup ? ` (+${r.warmup})` : ''}` : ''] : []),
      ...alts.map((a) => formatRatio(ratio(r, a))),
    ]),
    notes: rows.filter((r) => r.note).map((r) => `${r.variant}: ${r.note}`),
  };
}

function printTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) => '  ' + cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  console.log(line(header));
  for (const row of body) console.log(line(row));
}

function printResults(report) {
  for (const [name, w] of Object.entries(report.workloads)) {
    console.log(`== ${name}${w.error ? ' (FAILED: ' + w.error + ')' : ''}`);
    for (const [group, rows] of groupsOf(w.results)) {
      console.log(`${group}`);
      const t = rowsOf(rows);
      printTable(t.header, t.body);
      for (const n of t.notes) console.log(`  * ${n}`);
    }
    for (const t of w.targets) console.log(`  target ${t.met ? 'MET   ' : 'MISSED'} ${t.text}: ${t.value}`);
    console.log('');
  }
}

const esc = (s) => String(s).replace(/\|/g, '\\|');

function mdTable(header, body) {
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** Warm (repeated in one process) and fresh-process (a new process did it) results of a variant, side by side. */
const isFresh = (r) => r.mode === 'fresh' || r.mode === 'process';

function cell(r) {
  return r ? formatValue(r.median, r.unit) : '—';
}

/**
 * One row per variant: warm, fresh process, and the same from the contended run; ratios against
 * each alternative of the same run (alternatives are processes of their own: the fresh column).
 */
function columnsOf(rows, contendedRows) {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const pick = (list, variant, fresh) => list.find((r) => r.variant === variant && isFresh(r) === fresh);
  const alts = rows.filter((r) => r.impl === 'alternative' && (r.kind === 'rate' || r.kind === 'time'));
  const hasWarm = rows.some((r) => !isFresh(r));
  const hasFresh = rows.some(isFresh);
  const hasContended = contendedRows.length > 0;
  const header = [
    'variant',
    ...(hasWarm ? ['warm (median)'] : []),
    ...(hasFresh ? ['fresh process (median)'] : []),
    ...(hasContended && hasWarm ? ['warm, contended'] : []),
    ...(hasContended && hasFresh ? ['fresh, contended'] : []),
    'runs',
    ...alts.map((a) => `vs ${a.variant}`),
  ];
  const ratioCell = (variant, alt) => {
    const parts = [];
    const add = (label, r, a) => {
      const x = ratio(r, a);
      if (x !== undefined) parts.push(`${formatRatio(x)}${label}`);
    };
    add('', pick(rows, variant, false), alt);
    add(' fresh', pick(rows, variant, true), alt);
    const cAlt = pick(contendedRows, alt.variant, true);
    add(' warm, contended', pick(contendedRows, variant, false), cAlt);
    add(' fresh, contended', pick(contendedRows, variant, true), cAlt);
    return parts.join(' · ') || '—';
  };
  const body = variants.map((variant) => {
    const warm = pick(rows, variant, false);
    const fresh = pick(rows, variant, true);
    const any = warm || fresh;
    return [
      variant + (any.note ? ' *' : ''),
      ...(hasWarm ? [cell(warm)] : []),
      ...(hasFresh ? [cell(fresh)] : []),
      ...(hasContended && hasWarm ? [cell(pick(contendedRows, variant, false))] : []),
      ...(hasContended && hasFresh ? [cell(pick(contendedRows, variant, true))] : []),
      [warm, fresh]
        .filter((r) => r && r.runs)
        .map((r) => `${r.runs}${r.warmup ? ` (+${r.warmup})` : ''}`)
        .join(' / '),
      ...alts.map((a) => ratioCell(variant, a)),
    ];
  });
  const notes = variants
    .map((v) => pick(rows, v, false) || pick(rows, v, true))
    .filter((r) => r.note)
    .map((r) => `${r.variant}: ${r.note}`);
  for (const r of rows)
    if (r.mode === 'fresh' && r.loadMs !== undefined)
      notes.push(
        `${r.variant}, fresh process: loading nlkit ${formatValue(r.loadMs, 'ms')}, preparing ${formatValue(r.prepareMs, 'ms')}, the whole process ${formatValue(r.processMs, 'ms')} (medians)`,
      );
  return { header, body, notes };
}

function renderMarkdown(latest, allWorkloads, notes) {
  const entries = Object.entries(latest.workloads).sort(([a], [b]) => {
    const ia = allWorkloads.findIndex((w) => w.name === a);
    const ib = allWorkloads.findIndex((w) => w.name === b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib);
  });
  const machines = new Map();
  for (const [, w] of entries)
    machines.set(JSON.stringify({ cpu: w.machine.cpu, cores: w.machine.cores, kernel: w.machine.kernel, node: w.machine.node }), w.machine);
  const out = [];
  out.push('# Performance');
  out.push('');
  out.push('<!-- Generated by `npm run bench` (bench/run.js) from bench/results/latest.json; edit bench/notes.md or the workloads, not this file. -->');
  out.push('');
  out.push('How fast nlkit drives the kernel compared with the usual alternatives, measured');
  out.push('on one machine by the benchmark suite in [`bench/`](../bench). Regenerate with');
  out.push('`npm run bench` (root; every workload runs in network namespaces it creates and deletes).');
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(
    mdTable(
      ['CPU', 'cores', 'kernel', 'Node.js', 'iproute2', 'load average at start'],
      [...machines.values()].map((m) => [
        m.cpu,
        m.cores,
        m.kernel,
        m.node,
        ((m.iproute2 || '?').match(/iproute2-[\w.]+/) || [m.iproute2])[0],
        m.loadAverage.join(' '),
      ]),
    ),
  );
  out.push('');
  out.push('## Method');
  out.push('');
  out.push('- Every workload runs inside network namespaces created for it (nlkit `createNetns`) and');
  out.push('  deleted afterwards; nothing touches the root namespace and no traffic leaves the machine.');
  out.push("- **warm**: each variant runs a few untimed warm-up rounds (JIT, caches) in the runner's long-lived");
  out.push('  process, then the timed runs. **fresh process**: every sample is a new `node` process that loads');
  out.push('  nlkit, prepares (untimed) and does the work once, timed by itself (as a CLI, a CNI plugin or a');
  out.push('  script meets it; the notes under a table add what loading and the whole process cost). The');
  out.push('  alternatives (`ip`, `nft`) are a new process each time: their figures sit in the fresh column.');
  out.push('  **contended**: the same workload run with `--contention`, a CPU-bound process on every core.');
  out.push('  Tables show **medians**. Garbage collection happens when V8');
  out.push('  decides, inside the timings, as in a real process (memory figures use forced GCs).');
  out.push('- The 1-minute load average is recorded at the start and end of each workload; the runner refuses');
  out.push('  to run when it is above 0.25 per core unless given `--allow-load` (such results say so).');
  out.push('- Ratios compare medians measured **in the same run**, against each alternative of the');
  out.push('  same table: for rates nlkit ÷ alternative, for times alternative ÷ nlkit (higher is better for nlkit);');
  out.push('  a cell gives the warm ratio, then the fresh-process and contended ones where measured.');
  out.push('  Where a target compares nlkit with a peer program (route churn and the warm dump with libmnl, the');
  out.push('  attach rows with Go) they take turns: rounds of one batch each, the order reversed every other round, and the');
  out.push("  target is judged on the median of the rounds' own ratios (bench/lib/rounds.js); its text gives that");
  out.push('  ratio, its range and the ratio of the medians.');
  out.push('- Route churn rates count route operations: adding N routes then deleting them is 2N operations.');
  out.push('  Routes name their link by index (resolved once, as a daemon would); a name costs one');
  out.push('  extra RTM_GETLINK per call.');
  out.push('- The machine is shared and virtualised: expect run-to-run noise of 10–30 %; compare');
  out.push('  ratios rather than absolute numbers across machines.');
  out.push('');
  out.push('## Results');
  out.push('');
  for (const [name, w] of entries) {
    out.push(`### ${name}`);
    out.push('');
    out.push(
      `${w.description}. Measured ${w.date.slice(0, 16).replace('T', ' ')} UTC at commit ${w.machine.commit || '?'}${w.options.quick ? ' (quick run)' : ''}, ` +
        `load average ${w.machine.loadAverage.join(' ')} at the start${w.loadAtEnd ? `, ${w.loadAtEnd.join(' ')} at the end` : ''}${w.underLoad ? ` (**${w.underLoad}**)` : ''}.`,
    );
    out.push('');
    const contended = latest.contended && latest.contended[name];
    if (contended)
      out.push(`Contended run (a CPU hog on every core): ${contended.date.slice(0, 16).replace('T', ' ')} UTC, commit ${contended.machine.commit || '?'}.`, '');
    for (const [group, rows] of groupsOf(w.results)) {
      out.push(`**${group}**`);
      out.push('');
      const t = columnsOf(rows, contended ? contended.results.filter((r) => r.group === group) : []);
      out.push(mdTable(t.header, t.body));
      out.push('');
      for (const n of t.notes) out.push(`- \\* ${n}`);
      if (t.notes.length) out.push('');
    }
  }
  out.push('## Targets');
  out.push('');
  const targetRows = [];
  for (const [name, w] of entries) for (const t of w.targets) targetRows.push([name, t.text, t.value, t.met ? '**met**' : '**missed**']);
  out.push(mdTable(['workload', 'target (median, this machine)', 'measured', ''], targetRows));
  out.push('');
  const missed = [];
  for (const [, w] of entries) for (const t of w.targets) if (!t.met && t.limit) missed.push(`- **${t.text}**: ${t.limit}`);
  if (missed.length) {
    out.push('Missed targets, and what limits them:');
    out.push('');
    out.push(...missed);
    out.push('');
  }
  if (notes.trim()) {
    out.push(notes.trim());
    out.push('');
  }
  return out.join('\n');
}

module.exports = { printResults, renderMarkdown, ratio };
