// A worker that holds some state and throws on every message: each
// incarnation leaves a crash report; none may keep its isolate alive.
const state = [];
for (let k = 0; k < 2000; k++) state.push({ k, s: "state " + k });
export function receive(msg) {
  if (msg.type === "ping") return state.length;
  const e = new Error("crash " + state.length);
  e.state = state; // the thrown value reaches the whole heap
  throw e;
}
