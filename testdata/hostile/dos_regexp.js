// Attack: regular expression sources that overflow a parser's Go stack or
// take seconds to compile, through the constructor, a literal's
// constructor, and the string methods that compile their argument.

const deepLook = () => "(?=" + "(".repeat(1e6) + ")".repeat(1e6) + ")";
const manyGroups = () => "()".repeat(2e5);
const bombs = {
  lookahead: () => new RegExp(deepLook()).source.length,
  viaLiteral: () => /x/.constructor(deepLook()).source.length,
  viaObject: () => new RegExp({ toString: deepLook }).source.length,
  groups: () => new RegExp(manyGroups()).source.length,
  match: () => "x".match(deepLook()),
  matchAll: () => [..."x".matchAll(manyGroups())].length,
  search: () => "x".search({ toString: deepLook }),
  catastrophic: () => /^(a+)+(?=b)/.test("a".repeat(40)),
};

// What each bomb must end in: the turn's crash reason (cpu_limit,
// memory_limit, or error for an uncaught exception), or ok.
const expect = {
  "lookahead": "error",
  "viaLiteral": "error",
  "viaObject": "error",
  "groups": "error",
  "match": "error",
  "matchAll": "error",
  "search": "error",
  "catastrophic": "error|cpu_limit"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  const out = {};
  for (const k of Object.keys(bombs)) out[k] = attempt(bombs[k]);
  out.small = attempt(() => "aXbX".replace(new RegExp("(?<=a)X", "g"), "-"));
  return out;
}
