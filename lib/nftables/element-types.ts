/**
 * Set and map elements as nlkit's API takes and returns them (typed values:
 * "10.0.0.1", 80, ["10.0.0.2", 8080]); encoded by elements.ts, decoded by
 * element-decode.ts.
 * @module
 */
import type { Verdict } from './data';
import type { Scalar } from './datatypes';
import type { Expression } from './expressions/registry';

/** One field's value, or an array of values for a concatenated type. */
export type ElementValue = Scalar | Scalar[];

/** A set or map element as written and as listed. */
export interface SetElement {
  /**
   * The key. In interval sets an address field may be a prefix ("10.0.0.0/8")
   * and any field a range written as "from-to".
   */
  key: ElementValue;
  /** Inclusive end of a range (interval sets); the alternative to "from-to" strings. */
  keyEnd?: ElementValue;
  /** Data maps: the mapped value. */
  value?: ElementValue;
  /** Verdict maps: the verdict. */
  verdict?: Verdict;
  /** Object maps: the name of the object. */
  object?: string;
  /** Milliseconds until the element expires (sets with the "timeout" flag; at most 18,446,744,073,708). */
  timeout?: number;
  /** Milliseconds left (listed only: accepted when a listed element is passed back in, and not written). */
  expires?: number;
  /** Shown by `nft list` as `comment "..."`. */
  comment?: string;
  /**
   * The element's counter (sets defined with `counter: true`): as listed, and
   * written as given (nft's `192.0.2.1 counter packets 5 bytes 300`), so a
   * listed element written back keeps its counts. Each is 0 to 2^64 - 1.
   */
  counter?: {
    /** Packets counted. */
    packets: bigint;
    /** Bytes counted. */
    bytes: bigint;
  };
  /** Other element expressions. */
  expressions?: Expression[];
  /** The catch-all element (`*`), matched when no other element is; its key is ignored (listed as "*"). */
  catchall?: boolean;
}
