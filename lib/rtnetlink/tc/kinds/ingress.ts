/**
 * The ingress and clsact qdiscs: no queue, only a place to attach filters to
 * incoming (ingress) or incoming and outgoing (clsact) traffic. Each sits at
 * the device's ingress parent with handle ffff:, as tc puts them.
 * @module
 */
import { TC_H_INGRESS, TC_H_MAJ_MASK } from '../constants';
import type { FixedPlace, TcKind } from './kind';

/** Ingress and clsact take no options. */
export type NoOptions = Record<string, never>;

const noOptions = (kind: string): TcKind<NoOptions, NoOptions> => ({
  kind,
  optionKeys: [],
  optionsRequired: false,
  prepare: () => () => undefined,
  decode: () => ({}),
});

export const ingress = noOptions('ingress');
export const clsact = noOptions('clsact');

/** Where tc puts both: parent ffff:fff1, handle ffff:. */
export const INGRESS_PLACE: FixedPlace = { parent: TC_H_INGRESS, handle: TC_H_MAJ_MASK };
