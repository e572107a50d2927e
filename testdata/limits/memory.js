// Memory bombs: each message kind grows the heap past any sane limit.
// Used by isolate/limits_test.go and actor/limits_test.go.
const keep = [];
let s = "ab";
export function receive(msg, ctx) {
  switch (msg.kind) {
    case "grow":      // an array that grows a little every turn
      for (let i = 0; i < 100000; i++) keep.push(i * 1.5);
      return keep.length;
    case "growLoop":  // one turn that never stops growing
      for (;;) keep.push({ i: keep.length });
    case "double":    // string doubling, one step per turn
      s = s + s;
      keep.push(s);
      return s.length;
    case "doubleLoop": // string doubling inside one turn
      for (;;) { s = s + s; keep.push(s); }
    case "repeat":
      keep.push("ab".repeat(2 ** 28));
      return 0;
    case "fill":
      keep.push(Array(3e7).fill(1));
      return 0;
    case "nested": {  // deeply nested objects, a level per iteration
      let o = {};
      for (let i = 0; i < 20000; i++) o = { next: o, pad: [i, i, i] };
      keep.push(o);
      return keep.length;
    }
    case "maps":
      for (let i = 0; i < 20000; i++) { const m = new Map(); m.set(i, i); keep.push(m); }
      return keep.length;
    case "typed":
      keep.push(new Uint8Array(2 ** 28));
      return 0;
    case "keep":      // big messages: keep every payload
      keep.push(msg.payload);
      if (msg.again) ctx.self.send(msg); // and send it to itself again
      return keep.length;
    case "selfFlood":
      ctx.self.send({ kind: "keep", again: true, payload: "x".repeat(200 * 1024) });
      return 0;
    case "ping":
      return "pong";
  }
  return null;
}
