// Runs once around the whole suite: fails the run if the suite left the
// machine's root network namespace, /run/netns or the root ruleset different
// from how it found them. /run/netns itself, made by the suite's first named
// namespace on a machine that had none, is taken away again when empty.
import { captureHostState, diffHostState, removeNewNetnsDir } from './host-state';

export default function setup(): () => void {
  const before = captureHostState();
  return () => {
    removeNewNetnsDir(before);
    const problems = diffHostState(before, captureHostState());
    if (problems.length) {
      // vitest reports teardown errors but keeps exit code 0: set it ourselves.
      process.exitCode = 1;
      throw new Error(`the test suite leaked state into the host:\n- ${problems.join('\n- ')}`);
    }
  };
}
