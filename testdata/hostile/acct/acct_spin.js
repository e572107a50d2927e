// A tenant that burns CPU: a turn that never ends (under a CPU limit of an
// hour), one that churns the heap for a given number of rounds, or one
// long replaceAll over a 2e6-character string.
export function receive(msg) {
  if (msg.type === "forever") for (;;) {}
  if (msg.type === "churn") {
    let keep = [];
    for (let r = 0; r < msg.rounds; r++) {
      keep = [];
      for (let k = 0; k < 20000; k++) keep.push({ k, s: "v" + k });
    }
    return keep.length;
  }
  if (msg.type === "replace") return "ab".repeat(1e6).replaceAll("a", "cc").length;
  return "ok";
}
