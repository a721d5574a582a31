// Whose a host veth is (lib/network/veth-owner.ts), the rule detach, recovery
// and reattach act by: exactly the recorded name, a veth, the attachment's
// mark — or unmarked in the network's group (or its scratch group): the
// window of an attach that died between creating the veth (in the group) and
// the request that enslaves it, brings it up and marks it.
import { describe, expect, it } from 'vitest';
import { isStrayVeth, notOurVeth, SCRATCH_GROUP } from '../../lib/network/veth-owner';
import { hostVethName, vethMark } from '../../lib/network/names';

const tag = '0123abcd';
const rec = { name: 'web', group: 7 };
const ref = { hostIfname: 'vethweb0', id: 'c1' };
const ours = { index: 9, name: 'vethweb0', kind: 'veth', alias: vethMark(tag, 'web', 'c1'), group: 7 };

describe("a host veth's owner", () => {
  it('takes the marked veth, and an unmarked one in the network group or its scratch group', () => {
    expect(notOurVeth(tag, rec, ref, ours)).toBeUndefined();
    expect(notOurVeth(tag, rec, ref, { ...ours, alias: undefined })).toBeUndefined(); // died before the mark
    expect(notOurVeth(tag, rec, ref, { ...ours, alias: undefined, group: 7 + SCRATCH_GROUP })).toBeUndefined(); // a partial detach's
  });

  it('refuses a link carrying the name as an altname, another kind, another mark, or an unmarked veth elsewhere', () => {
    expect(notOurVeth(tag, rec, ref, { ...ours, name: 'other0' })).toMatch(/other0 \(index 9\) carries the name as an altname/);
    expect(notOurVeth(tag, rec, ref, { ...ours, kind: 'dummy' })).toMatch(/is a dummy, not nlkit's veth/);
    expect(notOurVeth(tag, rec, ref, { ...ours, alias: vethMark(tag, 'web', 'c2') })).toMatch(/has alias "nlkit:0123abcd:web\/c2", not/);
    expect(notOurVeth(tag, rec, ref, { ...ours, alias: vethMark('ffffffff', 'web', 'c1') })).toMatch(/not "nlkit:0123abcd:web\/c1"/);
    expect(notOurVeth(tag, rec, ref, { ...ours, alias: undefined, group: 0 })).toMatch(/has alias "" and group 0/);
    expect(notOurVeth(tag, rec, ref, { ...ours, alias: 'someone else' })).toMatch(/has alias "someone else" and group 7/);
    // The network's record gone (no group to tell): only the mark counts.
    expect(notOurVeth(tag, { name: 'web' }, ref, { ...ours, alias: undefined })).toMatch(/has alias ""/);
  });

  it('counts as a stray only a veth of the group with the network mark, not an unmarked one, whatever its name', () => {
    const stray = { index: 11, name: hostVethName('web', 'gone'), kind: 'veth', group: 7, alias: vethMark(tag, 'web', 'c9') };
    expect(isStrayVeth(tag, rec, stray)).toBe(true);
    // Unmarked and named as nlkit names host veths: `ip` makes one as easily (a dead attach's is found by its intent).
    expect(isStrayVeth(tag, rec, { ...stray, alias: undefined })).toBe(false);
    expect(isStrayVeth(tag, rec, { ...stray, alias: undefined, name: 'uservx0' })).toBe(false);
    expect(isStrayVeth(tag, rec, { ...stray, alias: vethMark(tag, 'db', 'c9') })).toBe(false);
    expect(isStrayVeth(tag, rec, { ...stray, kind: 'bridge' })).toBe(false);
    expect(isStrayVeth(tag, rec, { ...stray, group: 0 })).toBe(false);
  });
});
