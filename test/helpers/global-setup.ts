// Runs once around the whole suite: asserts the suite left the machine's root
// network namespace, /run/netns and the root ruleset exactly as it found them.
import { captureHostState, diffHostState } from './host-state';

export default function setup(): () => void {
  const before = captureHostState();
  return () => {
    const problems = diffHostState(before, captureHostState());
    if (problems.length) {
      throw new Error(`the test suite leaked state into the host:\n- ${problems.join('\n- ')}`);
    }
  };
}
