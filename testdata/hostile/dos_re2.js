// Attack: regular expressions without lookaround or backreferences run on
// Go's RE2 engine, linear in the input but not interruptible: a 2e7-unit
// input to exec, test, match, matchAll, replace, split and search.

const big = () => "a".repeat(2e7);
const slow = /(a|aa|aaa)*c/; // every position starts an alternation-heavy match
const bombs = {
  exec: () => slow.exec(big()),
  test: () => /(a|aa|aaa)*c/.test(big()),
  execSticky: () => { const s = big(); const r = /(a|aa)*?b/g; let n = 0; while (r.exec(s)) n++; return n; },
  match: () => big().match(/(a|aa|aaa)*c/),
  matchGlobal: () => (big() + "b").match(/(a|aa)+b/g).length,
  matchAll: () => [...big().matchAll(/(a|aa|aaa)*c/g)].length,
  replace: () => big().replace(/(a|aa|aaa)*c/, "x").length,
  replaceAll: () => big().replaceAll(/(a|aa)*c/g, "x").length,
  split: () => big().split(/(a|aa|aaa)*c/).length,
  search: () => big().search(/(a|aa|aaa)*c/),
};

const expect = {
  "exec": "cpu_limit",
  "test": "cpu_limit",
  "execSticky": "cpu_limit",
  "match": "cpu_limit",
  "matchGlobal": "cpu_limit|memory_limit",
  "matchAll": "cpu_limit",
  "replace": "cpu_limit",
  "replaceAll": "cpu_limit|memory_limit",
  "split": "cpu_limit",
  "search": "cpu_limit"
};

export function receive(msg) {
  if (msg.type === "list") return expect;
  if (msg.type === "bomb") return bombs[msg.name]();
  return {
    small: attempt(() => [/(a|b)+c/.exec("xxabac")[0], "a1b2".replace(/\d/g, "#"), "a,b;c".split(/[,;]/).join("|"), "abc".search(/c/), "x".repeat(10000).replace(/x/g, "y").length].join()),
  };
}
