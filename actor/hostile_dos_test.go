package actor_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"

	"github.com/vmihailenco/msgpack/v5"
)

// The denial-of-service scripts, testdata/hostile/dos_*.js. Each answers
// the hostile suite's attack with what its refusable attempts observed
// (TestHostile checks those against the cases below, and that the victim
// was not affected), and holds bombs: turns that must end in the crash
// the script lists for each. TestHostileDoS sets off every bomb in an
// attacker beside a bystander, and checks that the node survives, the
// attacker ends as listed and comes back, and the bystander still
// answers. The CPU time of each bomb's turn is measured, on the turn's
// thread, by isolate's TestDoS_BombsStopWithinTheirLimits.

func init() {
	memRefused := func(what string) string {
		return "RangeError: " + what + " elements is over the memory limit of *"
	}
	fnTooBig := "SyntaxError: Function: source is *"
	rxTooBig := "SyntaxError: Invalid regular expression: source is *"
	bigTooBig := "RangeError: Maximum BigInt size exceeded: *"
	bigOff := "TypeError: BigInt is not available to this script: *"
	dos := map[string]map[string]string{
		"dos_coerced_length.js": {
			"bufferValueOf": memRefused("ArrayBuffer of 1099511627776"), "bufferArray": memRefused("ArrayBuffer of 1099511627776"),
			"typedValueOf": "ok:number:0", "typedLyingLength": "ok:number:0", "typedFromLying": "ok:number:0",
			"typedSubclass": "ok:number:0", "typedViaBuffer": memRefused("ArrayBuffer of 1099511627776"),
			"arrayFromLying": "ok:number:0", "arrayFromHuge": memRefused("array-like of 30000000"),
			"small": `ok:string:"7,8,9"`, "smallIterable": `ok:string:"1,2,3"`,
		},
		"dos_codegen.js": {
			"functionObject": fnTooBig, "functionStringObject": fnTooBig, "functionParams": fnTooBig,
			"asyncFunction": fnTooBig, "generatorFunction": fnTooBig, "viaConstructor": fnTooBig,
			"evalString": "SyntaxError: eval: source is *", "evalStringObject": `ok:string:"object"`,
			"functionFlipping": "ok:number:1", "small": "ok:number:3",
		},
		"dos_regexp.js": {
			"lookahead": rxTooBig, "viaLiteral": rxTooBig, "viaObject": rxTooBig, "groups": rxTooBig,
			"match": rxTooBig, "matchAll": rxTooBig, "search": rxTooBig,
			"catastrophic": "RegExpTimeoutError: regular expression match exceeded 10ms",
			"small":        `ok:string:"a-bX"`,
		},
		"dos_array_search.js": {"small": `ok:string:"true,2,2"`},
		"dos_nested.js": {
			"stringDeep": "RangeError: *", "joinIsToString": "RangeError: Array.prototype.toString: nesting deeper than 1000 levels",
			"toLocaleDeep": "RangeError: *", "flatDeep": "RangeError: Array.prototype.flat: arrays nest deeper than 1000 levels",
			"parseDeep": "SyntaxError: JSON.parse: text nests deeper than 1000 levels",
			"small":     `ok:string:"1,2,3|1,2,3|{\"a\":[1,{\"b\":2}]}"`,
		},
		"dos_strings.js": {"small": `ok:string:"2,a-b-c,a--b--"`, "sums": `ok:string:"3,1.5,a1,1a,3,o,x1yoz,a1,1,NaN,2"`,
			"raw": `ok:string:"a\\n1b|x1y2z|"`},
		"dos_arrays.js": {"small": `ok:string:"1,2,3|1,2,3|7,7,7"`},
		"dos_keys.js":   {"small": `ok:string:"1000|999|231|1000|0,1|[[\"0\",-1]]|{\"0\":5,\"1\":6}|{\"0\":-1,\"1\":2,\"x\":3}|1000|{\"0\":9}|[4,{\"1\":-5}]"`},
		"dos_bigint.js": {
			"pow": bigTooBig, "shift": bigTooBig, "asUintN": "RangeError: Maximum BigInt size exceeded: BigInt.asUintN of 9007199254740991 bits *",
			"small":   `ok:string:"55340232221128654848,1,-4,36,4,3072"`,
			"mixed":   "TypeError: Cannot mix BigInt and other types, use explicit conversions",
			"compare": `ok:string:"true,false,true,true,true,true,7,3,x1,1180591620717411303424"`,
		},
		"dos_re2.js": {"small": `ok:string:"abac,a#b#,a|b|c,2,10000"`},
		"dos_bigint_array.js": {
			"small":     `ok:string:"13,-3,5,16,1,8,21,22,10,20,4|string,true"`,
			"badDigits": "SyntaxError: Cannot convert 12x to a BigInt",
			"fill":      `ok:string:"3,3,4,5,6,13,7,5,16"`,
		},
		"dos_bigint_hidden.js": {
			"global": bigOff, "evalLiteral": bigOff, "small": `ok:string:"42,1024,16,1,42"`,
		},
	}
	for name, want := range dos {
		hostileCases[name] = hostileCase{want: want}
	}
}

// bystanderCPU is the bystander's CPU limit: what it must keep is correct
// answers, whatever a neighbour's bomb does to the machine.
const bystanderCPU = time.Second

func TestHostileDoS(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join(hostileDir, "dos_*.js"))
	if err != nil || len(scripts) < 7 {
		t.Fatalf("found %d dos scripts (%v), want 7", len(scripts), err)
	}
	neighbour, err := os.ReadFile(filepath.Join(hostileDir, "..", "limits", "neighbour.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range scripts {
		script := compileFile(t, path)
		name := strings.TrimSuffix(filepath.Base(path), ".js")
		var expect map[string]string
		t.Run(name+"/list", func(t *testing.T) {
			f := start(t, isolate.Limits{}, actor.ChildSpec{Name: "attacker", Script: script})
			if err := msgpack.Unmarshal(callFor(t, f, "attacker", map[string]any{"type": "list"}, 10*time.Second), &expect); err != nil {
				t.Fatalf("%s: list: %v", name, err)
			}
		})
		bombs := make([]string, 0, len(expect))
		for b := range expect {
			bombs = append(bombs, b)
		}
		sort.Strings(bombs)
		for _, bomb := range bombs {
			want := expect[bomb]
			t.Run(name+"/"+bomb, func(t *testing.T) {
				// The CPU bound of each bomb is the isolate test's; here the
				// limit leaves room for the bombs' own setup (building a
				// 2e7-unit string) under the race detector.
				attacker := actor.ChildSpec{Name: "attacker", Script: script,
					Limits: isolate.Limits{CPU: 250 * time.Millisecond, Memory: 64 << 20}}
				f := start(t, isolate.Limits{CPU: bystanderCPU}, attacker, worker(t, "neighbour", string(neighbour)))
				checkNeighbour(t, f, 1)
				_, err := f.call("attacker", map[string]any{"type": "bomb", "name": bomb})
				got := "ok"
				if err != nil {
					var c *actor.Crash
					checkFor(t, 20*time.Second, 5*time.Millisecond, func() error {
						if cs := f.crashes("attacker"); len(cs) > 0 {
							c = cs[0]
							return nil
						}
						return errors.New("the attacker's call failed, but it has not crashed")
					})
					got = c.Reason
					t.Logf("%s: %s (%v)", bomb, c.Reason, c.Err)
				}
				if !strings.Contains("|"+want+"|", "|"+got+"|") {
					t.Errorf("%s ended in %s, want %s", bomb, got, want)
				}
				// The bystander was not charged for the bomb and answers.
				if cs := f.crashes("neighbour"); len(cs) != 0 {
					t.Errorf("bystander crashed: %v", cs[0].Err)
				}
				checkNeighbour(t, f, 2)
				// The attacker, restarted if it crashed, answers again.
				if err := msgpack.Unmarshal(callFor(t, f, "attacker", map[string]any{"type": "list"}, 10*time.Second), new(map[string]string)); err != nil {
					t.Errorf("attacker after the bomb: %v", err)
				}
			})
		}
	}
}
