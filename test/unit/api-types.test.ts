// Compiles test/types/*.ts with the TypeScript compiler: the type-level
// promises of the verb table (listed routes, rules, FDB entries, neighbours
// and conntrack entries pass to delete without a cast; Link narrows by kind;
// the wrong calls stay type errors) hold, or this fails with tsc's messages.
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

function diagnostics(configPath: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('API types', () => {
  it('read objects pass to delete, Link narrows by kind, wrong calls are refused (test/types)', () => {
    expect(diagnostics(path.join(root, 'test/types/tsconfig.json'))).toEqual([]);
  }, 120_000);
});
