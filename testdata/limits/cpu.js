// Builtins that run long without reaching a JS instruction, where goja
// checks its interrupt. Used by isolate/limits_test.go.
export function receive(msg, ctx) {
  switch (msg.kind) {
    case "sort": {
      const a = new Array(5e6);
      for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % 5e6;
      a.sort();
      return a.length;
    }
    case "repeat":
      return "ab".repeat(2 ** 28).length;
    case "join":
      return Array(3e7).fill(1).join(",").length;
    case "stringify": {
      let o = {};
      for (let i = 0; i < 1e5; i++) o = { o };
      return JSON.stringify(o).length;
    }
    case "regexp":
      return /^(a+)+(?=b)/.test("a".repeat(40));
    case "regexpCaught": {
      let n = 0;
      for (;;) { try { /^(a+)+(?=b)/.test("a".repeat(40)); } catch (e) { n++; } }
    }
    case "loop":
      for (;;) {}
  }
  return null;
}
