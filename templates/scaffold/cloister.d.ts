// Types for Cloister actor scripts.
//
// Import them with `import type`, which is removed when the script is
// compiled: an actor imports nothing at run time.
//
//   import type { Context, Capability, Notification } from "./cloister";
//
// The runtime checks everything these types describe again when the script
// runs; the types only help you write it.

/** A right a capability can carry. */
export type Right = "send" | "monitor" | "link" | "exit" | "kill" | "inspect" | "spawn";

/**
 * What a message can hold. Messages are copied, never shared: these values
 * arrive as fresh copies, capabilities as the receiver's own handles. A
 * class instance arrives as a plain object of its own enumerable properties,
 * an Error as {name, message}. Functions, symbols, BigInt, Map, Set,
 * RegExp, Promise, ArrayBuffer, typed arrays other than Uint8Array, cycles
 * and nesting deeper than 64 are refused with a DataCloneError. The methods
 * below take `unknown` so that interfaces can be sent; use Cloneable where
 * you want the compiler to check.
 */
export type Cloneable =
  | null
  | undefined
  | boolean
  | number
  | string
  | Date
  | Uint8Array
  | Uint8ClampedArray
  | Capability
  | ReplyHandle
  | readonly Cloneable[]
  | { readonly [key: string]: Cloneable };

/** An opaque monitor reference: compare it with ===. */
export interface MonitorRef {
  readonly __cloisterMonitorRef: never;
}

/**
 * A capability: an unforgeable handle on a process slot (it stays valid
 * across the target's restarts). Each method needs the right named in its
 * comment, and throws a CapabilityError without it. Req is what the target
 * receives, Res what its receive answers to a call.
 */
export interface Capability<Req = unknown, Res = unknown> {
  /** The rights this handle carries, in canonical order. */
  readonly rights: Right[];
  /** send: queue a copy of msg for the target. */
  send(msg: Req): void;
  /**
   * send: ask and wait for the answer. Rejects with TimeoutError (default
   * 5000 ms, at most 10 minutes), CallError (the callee crashed, or failed
   * a deferred reply), NoProcError or MailboxFull.
   */
  call(msg: Req, opts?: { timeout?: number }): Promise<Res>;
  /** A new handle with a subset of the rights. */
  attenuate(rights: Right[]): Capability<Req, Res>;
  /**
   * monitor: a `down` notification when the target's running incarnation
   * ends (at once, reason "noproc", when none runs). With {slot: true}, a
   * `down` each time an incarnation ends and an `up` each time the next
   * one starts, until demonitor.
   */
  monitor(opts?: { slot?: boolean }): MonitorRef;
  /** monitor: cancel a monitor; true if it was active. */
  demonitor(ref: MonitorRef): boolean;
  /** link: link this incarnation with the target's running one. */
  link(): void;
  /** link: remove the link. */
  unlink(): void;
  /** exit: send an exit signal; the target crashes with exit:<reason> unless it traps exits. */
  exit(reason: string): void;
  /** kill: end the target's incarnation with reason killed; cannot be trapped. */
  kill(): void;
  /**
   * spawn (on a template supervisor): a new child, resolved once its init
   * has run. With {link: true} the child is linked to this incarnation and
   * is temporary: see "The owner pattern" in docs/supervision.md.
   */
  spawn<ChildReq = unknown, ChildRes = unknown>(args?: unknown, opts?: { link?: boolean }): Promise<Capability<ChildReq, ChildRes>>;
  /** inspect: a copy of what the target's inspect export returns. */
  inspect(): Promise<unknown>;
}

/**
 * A reply handle from ctx.deferReply(): answers one call, once, from any
 * later turn of whichever process holds it. It can be sent in a message.
 * A second answer, or one after the callee's incarnation ended, throws Error("reply: the call has been answered already, ...").
 */
export interface ReplyHandle<Res = unknown> {
  /** ["send"]: whoever holds the handle may answer. */
  readonly rights: Right[];
  /** Answer the call with a copy of value. */
  reply(value: Res): void;
  /** Reject the call: the caller gets CallError "call failed: <error>". */
  fail(error: unknown): void;
}

/** A monitored incarnation ended. For a slot monitor, slot is true and final marks the slot's end. */
export interface DownNotification {
  readonly type: "down";
  readonly ref: MonitorRef;
  /** How it ended: "normal", "shutdown", "code_change", "error", "cpu_limit", "memory_limit", "killed", "linked", "exit:<reason>", "noproc", "noconnection" (its node was lost), ... */
  readonly reason: string;
  readonly slot?: true;
  readonly final?: boolean;
}

/** The next incarnation of a slot watched with monitor({slot: true}) has started. */
export interface UpNotification {
  readonly type: "up";
  readonly ref: MonitorRef;
  readonly slot: true;
}

/** An exit signal, received as a message while trapping exits. */
export interface ExitNotification {
  readonly type: "exit";
  /** The path of the process it came from, e.g. "pool/3". */
  readonly from: string;
  readonly reason: string;
}

/** What the runtime delivers to receive besides messages; tell them apart with ctx.isNotification. */
export type Notification = DownNotification | UpNotification | ExitNotification;

/** The grants of the manifest, by name. */
export type Env = { readonly [grant: string]: Capability };

/** The ctx passed to every handler: the same frozen object for a whole incarnation. */
export interface Context<E extends object = Env> {
  /** This process, with every right. */
  readonly self: Capability;
  /** The manifest's grants. Reading a grant the manifest does not give yields undefined. */
  readonly env: Readonly<E>;
  /** End this incarnation after the current turn: "normal" (the default) is an orderly end, anything else a crash exit:<reason>. */
  stop(reason?: string): void;
  /** send: send a copy of msg to cap after ms milliseconds; returns a ref for cancelTimer. */
  sendAfter(cap: Capability, msg: unknown, ms: number): number;
  /** Cancel a sendAfter or setTimeout; true if it was pending. */
  cancelTimer(ref: number): boolean;
  /** Exit signals (but kills) arrive as exit notifications while on; returns the previous setting. */
  trapExits(on: boolean): boolean;
  /** True for a notification made by the runtime, false for anything a peer sent. */
  isNotification(msg: unknown): msg is Notification;
  /** A forwarder with cap's rights that stops working for everyone once revoked. */
  revocable<C extends Capability>(cap: C): { cap: C; revoke(): void };
  /**
   * Take the reply to the call being handled out of this turn: the turn
   * ends at once and the mailbox moves on; answer later through the handle.
   * Throws in a turn that answers no call.
   */
  deferReply<Res = unknown>(): ReplyHandle<Res>;
}

/** export function init(args, ctx): the first turn of each incarnation. A throw (or rejection) fails the start. */
export type Init<Args = unknown, E extends object = Env> = (args: Args, ctx: Context<E>) => void | Promise<void>;

/**
 * export function receive(msg, ctx): one message at a time, in mailbox
 * order. Its return value (or what its promise resolves to) answers a
 * call; a throw or a rejection crashes the incarnation with reason error.
 */
export type Receive<Msg = unknown, E extends object = Env> = (msg: Msg | Notification, ctx: Context<E>) => unknown;

/** export function terminate(reason, ctx): on an orderly end ("normal", "shutdown", "code_change"), within the shutdown time. */
export type Terminate<E extends object = Env> = (reason: string, ctx: Context<E>) => void;

/** export function inspect(ctx): the state operators and the inspect right see; it must hold no capability. */
export type Inspect<E extends object = Env> = (ctx: Context<E>) => unknown;

/**
 * The names of the errors the runtime throws into scripts (err.name). They
 * are TypeError objects with their name changed: check err.name, not
 * instanceof.
 */
export type CloisterErrorName =
  | "CapabilityError" // the right is missing, or the handle is revoked
  | "TimeoutError" // a call got no answer in time
  | "CallError" // the callee crashed handling the call, or failed its deferred reply
  | "NoProcError" // the target has stopped
  | "NoConnectionError" // the target's node is not reachable (a cluster)
  | "MailboxFull" // the target's mailbox, or this process's outbox quota, is full
  | "DataCloneError" // the message cannot be copied
  | "RangeError" // too many timers, monitors, deferred replies or processes; calls nested too deep
  | "TypeError" // not a capability, bad rights or options
  | "SyntaxError" // eval or Function source too big or too deep
  | "Error"; // an operation the target does not support, or a start that failed

/** An error the runtime threw. */
export interface CloisterError extends Error {
  name: CloisterErrorName;
}

/**
 * The per-actor limits a manifest sets (limits: in a child, a template or
 * defaults). Durations are strings such as "50ms", sizes "64MiB".
 */
export interface Limits {
  /** CPU time one turn may run before it is interrupted (crash cpu_limit). Default 50ms. */
  cpu?: string;
  /** Heap the isolate may hold (crash memory_limit). Default 64MiB. */
  memory?: string;
  /** JS call depth. */
  stack?: number;
  /** Messages the mailbox holds; mailbox_bytes bounds their size. */
  mailbox?: number;
  mailbox_bytes?: string;
  /** "reject" (the sender gets MailboxFull) or "drop_oldest". */
  mailbox_overflow?: "reject" | "drop_oldest";
  /** Bytes this actor may have queued in others' mailboxes. */
  outbox_bytes?: string;
  /** Encoded size of one message. */
  message_bytes?: string;
  /** Live setTimeout and sendAfter timers. */
  timers?: number;
  /** On a template supervisor: live dynamic children. */
  children?: number;
}

// The globals the runtime adds to the standard ECMAScript built-ins. There
// is no require, process, fetch, setInterval or filesystem.
declare global {
  /** Each call writes one line to the node's log, tagged with the process; objects print as their class. */
  var console: {
    log(...args: unknown[]): void;
    info(...args: unknown[]): void;
    debug(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
  };
  /** Runs fn(...args) as its own turn after ms milliseconds; counts against the timers limit. */
  function setTimeout<A extends unknown[]>(fn: (...args: A) => void, ms?: number, ...args: A): number;
  /** Cancels a setTimeout. */
  function clearTimeout(id: number): void;
}
