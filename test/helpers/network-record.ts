// A network record as `create()` writes it into the state file, for tests
// that write state files themselves.
export const networkRecord = (name: string) => ({
  name,
  bridge: `nlk-${name}`,
  subnet: '10.0.0.0/24',
  gateway: '10.0.0.1',
  internal: false,
  isolate: false,
  masquerade: true,
  group: 1,
  created: '2026-01-01T00:00:00.000Z',
});
