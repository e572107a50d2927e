package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
	"go.yaml.in/yaml/v3"
)

// maxManifestBytes bounds a manifest file.
const maxManifestBytes = 1 << 20

// Manifest is a decoded app.yaml: the process tree and node settings.
type Manifest struct {
	Debug    string   `yaml:"debug"`
	Defaults Defaults `yaml:"defaults"`
	Root     Child    `yaml:"root"`
	HTTP     *HTTP    `yaml:"http"` // an HTTP gateway in front of the tree, see http.go
	// DataDir is where workers granted storage keep their data, relative
	// to the manifest; "" means DefaultDataDir (see storage.go).
	DataDir string `yaml:"data_dir"`
	// Cluster spreads the tree over several nodes, see cluster.go.
	Cluster *Cluster `yaml:"cluster"`

	dir         string // scripts are relative to it
	file        string
	dataDirLine int
}

// Defaults are the node-wide settings each child may override.
type Defaults struct {
	Limits Limits `yaml:"limits"`
}

// Child is one entry of the tree: a worker (script) or a supervisor
// (strategy with children or a template).
type Child struct {
	Name string `yaml:"name"`
	// Node places a child of the root, with its subtree, on that node of
	// the cluster: section.
	Node     string           `yaml:"node"`
	Script   string           `yaml:"script"`
	Go       string           `yaml:"go"` // a Go actor the embedding program registers, instead of a script
	Args     yaml.Node        `yaml:"args"`
	Restart  RestartType      `yaml:"restart"`
	Shutdown Duration         `yaml:"shutdown"`
	Limits   Limits           `yaml:"limits"`
	Grants   map[string]Grant `yaml:"grants"`
	// Storage grants the worker durable storage (ctx.storage).
	Storage bool `yaml:"storage"`

	// StartTimeout is the time init gets before the start fails (workers only).
	StartTimeout Duration `yaml:"start_timeout"`

	Strategy  StrategyName `yaml:"strategy"`
	Intensity *int         `yaml:"intensity"`
	Period    Duration     `yaml:"period"`
	Children  []Child      `yaml:"children"`
	Template  *Child       `yaml:"template"`

	line     int
	nodeLine int
}

// Grant is a capability in a child's ctx.env.
type Grant struct {
	To     string   `yaml:"to"`
	Rights []string `yaml:"rights"`
	line   int

	// A grant of kind http is outgoing HTTP instead of a process; see egress.go.
	Kind          string            `yaml:"kind"`
	Allow         []string          `yaml:"allow"`
	Methods       []string          `yaml:"methods"`
	Timeout       Duration          `yaml:"timeout"`
	MaxResponse   Size              `yaml:"max_response"`
	MaxConcurrent int               `yaml:"max_concurrent"`
	Headers       map[string]string `yaml:"headers"`
	Networks      []string          `yaml:"networks"`
}

// Limits are per-actor limits; zero fields inherit.
type Limits struct {
	CPU          Duration `yaml:"cpu"`
	Memory       Size     `yaml:"memory"`
	Stack        int      `yaml:"stack"`
	Mailbox      int      `yaml:"mailbox"`
	MailboxBytes Size     `yaml:"mailbox_bytes"`
	Overflow     string   `yaml:"mailbox_overflow"`
	OutboxBytes  Size     `yaml:"outbox_bytes"`
	MessageBytes Size     `yaml:"message_bytes"`
	Timers       int      `yaml:"timers"`
	Children     int      `yaml:"children"`
	Processes    int      `yaml:"processes"`  // node-wide: only under defaults
	CallDepth    int      `yaml:"call_depth"` // node-wide: only under defaults
	Storage      Size     `yaml:"storage"`    // the storage quota of a worker granted storage
	line         int
}

// UnmarshalYAML decodes one child and, if it is a supervisor, its subtree.
// Unknown fields are errors.
func (c *Child) UnmarshalYAML(n *yaml.Node) error {
	if _, err := expandedSize(n, make(map[*yaml.Node]int)); err != nil {
		return err
	}
	return decodeChild(n, "", "child", false, c)
}

// UnmarshalYAML decodes one grant. Unknown fields are errors.
func (g *Grant) UnmarshalYAML(n *yaml.Node) error {
	if _, err := expandedSize(n, make(map[*yaml.Node]int)); err != nil {
		return err
	}
	return decodeGrant(n, "grant", g)
}

// UnmarshalYAML decodes limits and checks their ranges. Unknown fields are errors.
func (l *Limits) UnmarshalYAML(n *yaml.Node) error {
	if _, err := expandedSize(n, make(map[*yaml.Node]int)); err != nil {
		return err
	}
	return decodeLimits(n, "limits", l)
}

// maxManifestNodes bounds the YAML nodes a manifest may stand for, each use
// of an alias counted as its whole target, so that an alias bomb ("billion
// laughs") is refused before anything is decoded.
const maxManifestNodes = 100_000

// maxMappingKeys bounds one mapping: yaml checks a mapping's keys for
// duplicates in quadratic time.
const maxMappingKeys = 10_000

// expandedSize counts the nodes n stands for with every alias expanded. It
// refuses more than maxManifestNodes and an alias inside its own anchor.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) (int, error) {
	if v, ok := memo[n]; ok {
		return v, nil
	}
	memo[n] = maxManifestNodes + 1 // in progress: an alias back to n overflows
	if n.Kind == yaml.MappingNode && len(n.Content)/2 > maxMappingKeys {
		return 0, fmt.Errorf("line %d: a mapping with %d keys, over the limit of %d", n.Line, len(n.Content)/2, maxMappingKeys)
	}
	size := 1
	kids := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if v, ok := memo[n.Alias]; ok && v > maxManifestNodes {
			return 0, fmt.Errorf("line %d: alias *%s is inside the node it names", n.Line, n.Value)
		}
		kids = []*yaml.Node{n.Alias}
	}
	for _, k := range kids {
		v, err := expandedSize(k, memo)
		if err != nil {
			return 0, err
		}
		if size += v; size > maxManifestNodes {
			return 0, fmt.Errorf("line %d: the manifest stands for more than %d YAML nodes once its aliases are expanded", n.Line, maxManifestNodes)
		}
	}
	memo[n] = size
	return size, nil
}

// at prefixes an error with its line and, if any, the process or section.
func at(line int, where string) string {
	if where == "" {
		return fmt.Sprintf("line %d: ", line)
	}
	return fmt.Sprintf("line %d: %s: ", line, where)
}

// resolve follows aliases; expandedSize has ruled out cycles.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.DocumentNode:
		return "a document"
	}
	if v := []rune(n.Value); len(v) > 40 {
		return fmt.Sprintf("%q", string(v[:37])+"...")
	}
	return fmt.Sprintf("%q", n.Value)
}

// pair is one key and value of a mapping.
type pair struct{ key, val *yaml.Node }

// pairs returns the entries of mapping n with merge keys ("<<") applied:
// explicit keys override merged ones. A key given twice is an error.
func pairs(n *yaml.Node, where string) ([]pair, error) {
	n = resolve(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%swant a mapping of fields, got %s", at(n.Line, where), kindName(n))
	}
	var own, merged []pair
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%sa key must be a plain name, got %s", at(k.Line, where), kindName(k))
		}
		if k.ShortTag() == "!!merge" {
			var srcs []*yaml.Node
			if rv := resolve(v); rv.Kind == yaml.SequenceNode {
				srcs = rv.Content
			} else {
				srcs = []*yaml.Node{v}
			}
			for _, src := range srcs {
				ps, err := pairs(src, where)
				if err != nil {
					return nil, err
				}
				merged = append(merged, ps...)
			}
			continue
		}
		if first, ok := seen[k.Value]; ok {
			return nil, fmt.Errorf("%s%q is given twice (first on line %d)", at(k.Line, where), k.Value, first)
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, v})
	}
	out := own
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key.Line
			out = append(out, p)
		}
	}
	return out, nil
}

// lineRE matches the position prefixes of yaml's own errors.
var lineRE = regexp.MustCompile(`^(yaml: unmarshal errors:\s*)?(line \d+: )?`)

// decodeFields decodes mapping n into the struct out points to one field at
// a time, so that every error names its line and field. Keys in special are
// decoded by their function. It returns the line of each field's value.
func decodeFields(n *yaml.Node, where string, out any, special map[string]func(*yaml.Node) error) (map[string]int, error) {
	ps, err := pairs(n, where)
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(out).Elem()
	fields := make(map[string]int)
	var names []string
	for i := range v.NumField() {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			fields[tag] = i
			names = append(names, tag)
		}
	}
	lines := make(map[string]int)
	for _, p := range ps {
		key := p.key.Value
		i, ok := fields[key]
		if !ok {
			return nil, fmt.Errorf("%sunknown field %q (known: %s)", at(p.key.Line, where), key, strings.Join(names, ", "))
		}
		lines[key] = resolve(p.val).Line
		if f := special[key]; f != nil {
			if err := f(p.val); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.val.Decode(v.Field(i).Addr().Interface()); err != nil {
			msg := err.Error()
			var te *yaml.TypeError
			if errors.As(err, &te) && len(te.Errors) > 0 {
				msg = te.Errors[0]
			}
			return nil, fmt.Errorf("%s%s: %s", at(lines[key], where), key, lineRE.ReplaceAllString(msg, ""))
		}
	}
	return lines, nil
}

func (m *Manifest) decode(doc *yaml.Node) error {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if rn := resolve(n); !isNull(rn) && rn.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a manifest is a mapping (debug, defaults, root), got %s", rn.Line, kindName(rn))
	}
	lines, err := decodeFields(n, "", m, map[string]func(*yaml.Node) error{
		"root":    func(v *yaml.Node) error { return decodeChild(v, "", "root", true, &m.Root) },
		"http":    func(v *yaml.Node) error { m.HTTP = new(HTTP); return decodeHTTP(v, m.HTTP) },
		"cluster": func(v *yaml.Node) error { m.Cluster = new(Cluster); return decodeCluster(v, m.Cluster) },
		"defaults": func(v *yaml.Node) error {
			_, err := decodeFields(v, "defaults", &m.Defaults, map[string]func(*yaml.Node) error{
				"limits": func(v *yaml.Node) error { return decodeLimits(v, "defaults: limits", &m.Defaults.Limits) },
			})
			return err
		},
	})
	m.dataDirLine = lines["data_dir"]
	return err
}

// decodeChild decodes a child of the supervisor at path parent, or the
// root; where names it in errors until its name is known.
func decodeChild(n *yaml.Node, parent, where string, root bool, c *Child) error {
	n = resolve(n)
	c.line = n.Line
	path := parent
	// The name first, so that every other error can name the child.
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if k, v := resolve(n.Content[i]), n.Content[i+1]; k.Kind == yaml.ScalarNode && k.Value == "name" {
			if err := v.Decode(&c.Name); err != nil {
				return fmt.Errorf("%sname: want a string, got %s", at(v.Line, where), kindName(resolve(v)))
			}
			if !root { // the root's name is not part of any path
				path = joinPath(parent, c.Name)
				where = path
			}
			break
		}
	}
	lines, err := decodeFields(n, where, (*childFields)(c), map[string]func(*yaml.Node) error{
		"name": func(v *yaml.Node) error { // again, in case it came from a merge key
			if err := v.Decode(&c.Name); err != nil {
				return fmt.Errorf("%sname: want a string, got %s", at(v.Line, where), kindName(resolve(v)))
			}
			return nil
		},
		"args": func(v *yaml.Node) error {
			var x any
			if err := v.Decode(&x); err != nil {
				return fmt.Errorf("%sargs: %s", at(v.Line, where), lineRE.ReplaceAllString(err.Error(), ""))
			}
			c.Args = *v
			return nil
		},
		"limits": func(v *yaml.Node) error {
			if err := decodeLimits(v, where+": limits", &c.Limits); err != nil {
				return err
			}
			if c.Limits.Processes != 0 || c.Limits.CallDepth != 0 {
				return fmt.Errorf("%slimits: processes and call_depth are node-wide: set them under defaults: limits", at(resolve(v).Line, where))
			}
			return nil
		},
		"grants": func(v *yaml.Node) error {
			ps, err := pairs(v, where+": grants")
			if err != nil {
				return err
			}
			c.Grants = make(map[string]Grant, len(ps))
			for _, p := range ps {
				var g Grant
				if err := decodeGrant(p.val, fmt.Sprintf("%s: grant %q", where, p.key.Value), &g); err != nil {
					return err
				}
				g.line = p.key.Line
				c.Grants[p.key.Value] = g
			}
			return nil
		},
		"children": func(v *yaml.Node) error {
			v = resolve(v)
			if isNull(v) {
				return nil
			}
			if v.Kind != yaml.SequenceNode {
				return fmt.Errorf("%schildren: want a list, got %s", at(v.Line, where), kindName(v))
			}
			c.Children = make([]Child, len(v.Content))
			for i, e := range v.Content {
				if err := decodeChild(e, path, fmt.Sprintf("%s: child %d", where, i+1), false, &c.Children[i]); err != nil {
					return err
				}
			}
			return nil
		},
		"template": func(v *yaml.Node) error {
			t := &Child{}
			if err := decodeChild(v, path, where+": template", true, t); err != nil {
				return err
			}
			c.Template = t
			return nil
		},
	})
	c.nodeLine = lines["node"]
	return err
}

// childFields is Child without its UnmarshalYAML.
type childFields Child

func decodeGrant(n *yaml.Node, where string, g *Grant) error {
	type plain Grant
	g.line = resolve(n).Line
	_, err := decodeFields(n, where, (*plain)(g), nil)
	return err
}

func decodeLimits(n *yaml.Node, where string, l *Limits) error {
	type plain Limits
	l.line = resolve(n).Line
	lines, err := decodeFields(n, where, (*plain)(l), nil)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
		max  int
	}{{"stack", l.Stack, 100_000}, {"mailbox", l.Mailbox, 10_000_000}, {"timers", l.Timers, 1_000_000}, {"children", l.Children, 1_000_000},
		{"processes", l.Processes, 100_000_000}, {"call_depth", l.CallDepth, 100_000}} {
		if f.v < 0 || f.v > f.max {
			return fmt.Errorf("%s%s: %d is out of range (0 to %d; 0 takes the default)", at(lines[f.name], where), f.name, f.v, f.max)
		}
	}
	if l.CPU.D < 0 || l.CPU.D > time.Minute {
		return fmt.Errorf("%scpu: %v is out of range (up to 1m)", at(lines["cpu"], where), l.CPU.D)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"mailbox_bytes", l.MailboxBytes.N}, {"outbox_bytes", l.OutboxBytes.N}} {
		if f.v > 4<<30 {
			return fmt.Errorf("%s%s: %d is over 4GiB", at(lines[f.name], where), f.name, f.v)
		}
	}
	if l.Overflow != "" {
		if _, err := mailbox.ParseOverflow(l.Overflow); err != nil {
			return fmt.Errorf("%smailbox_overflow: %w", at(lines["mailbox_overflow"], where), err)
		}
	}
	if l.MessageBytes.N > 64<<20 {
		return fmt.Errorf("%smessage_bytes: %d is over 64MiB", at(lines["message_bytes"], where), l.MessageBytes.N)
	}
	if l.Storage.N < 0 || l.Storage.N > 1<<40 {
		return fmt.Errorf("%sstorage: %d is out of range (0 to 1TiB; 0 takes the default)", at(lines["storage"], where), l.Storage.N)
	}
	if l.Memory.N != 0 && (l.Memory.N < 1<<20 || l.Memory.N > 16<<30) {
		return fmt.Errorf("%smemory: %d is out of range (1MiB to 16GiB)", at(lines["memory"], where), l.Memory.N)
	}
	return nil
}

// Duration is a YAML duration such as "50ms" or "5s".
type Duration struct{ D time.Duration }

// UnmarshalYAML parses a positive Go duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a positive duration (like 50ms or 5s)", n.Line, n.Value)
	}
	d.D = v
	return nil
}

// Size is a YAML byte size such as 65536, "64KiB" or "64MiB".
type Size struct{ N int64 }

var sizeRE = regexp.MustCompile(`^([0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$`)

// UnmarshalYAML parses a positive size with an optional unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a size (like 65536, 64KiB or 64MiB)", n.Line, n.Value)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
	if err != nil || v <= 0 || v > (1<<40)/mult {
		return fmt.Errorf("line %d: %q is not a positive size up to 1TiB", n.Line, n.Value)
	}
	s.N = v * mult
	return nil
}

// RestartType is permanent, transient or temporary.
type RestartType string

// UnmarshalYAML accepts only the three OTP restart types.
func (r *RestartType) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "permanent", "transient", "temporary":
		*r = RestartType(n.Value)
		return nil
	}
	return fmt.Errorf("line %d: %q is not permanent, transient or temporary", n.Line, n.Value)
}

// StrategyName is one_for_one, one_for_all or rest_for_one.
type StrategyName string

// UnmarshalYAML accepts only the three strategies.
func (s *StrategyName) UnmarshalYAML(n *yaml.Node) error {
	switch n.Value {
	case "one_for_one", "one_for_all", "rest_for_one":
		*s = StrategyName(n.Value)
		return nil
	}
	return fmt.Errorf("line %d: %q is not one_for_one, one_for_all or rest_for_one", n.Line, n.Value)
}

// Load reads and validates the manifest at path. Errors name the file and line.
func Load(path string) (*Manifest, error) {
	data, err := readLimited(path, maxManifestBytes)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.file = path
	m.dir = filepath.Dir(path)
	return m, nil
}

func readLimited(path string, max int64) ([]byte, error) {
	// Stat before opening: opening a FIFO would block.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: over the limit of %d bytes", path, max)
	}
	return data, nil
}

// Parse decodes and validates a manifest. Unknown fields are errors, and
// every error names the line and the field or process at fault.
func Parse(data []byte) (*Manifest, error) {
	doc, err := parseDocument(data)
	if err != nil {
		return nil, syntaxError(data, err)
	}
	if _, err := expandedSize(doc, make(map[*yaml.Node]int)); err != nil {
		return nil, err
	}
	var m Manifest
	if err := m.decode(doc); err != nil {
		return nil, err
	}
	if m.Root.line == 0 {
		return nil, errors.New("no root: the manifest needs a root supervisor")
	}
	if m.Root.Strategy == "" {
		return nil, fmt.Errorf("line %d: root: needs a strategy", m.Root.line)
	}
	if err := m.validate(&m.Root, "", true); err != nil {
		return nil, err
	}
	paths := make(map[string]bool)
	m.collect(&m.Root, "", paths)
	if err := m.checkGrants(&m.Root, paths); err != nil {
		return nil, err
	}
	if err := m.checkCluster(); err != nil {
		return nil, err
	}
	if err := m.checkHTTP(); err != nil {
		return nil, err
	}
	return &m, nil
}

// errSecondDocument is a manifest holding more than one YAML document.
type errSecondDocument struct{ line int }

func (e errSecondDocument) Error() string {
	return fmt.Sprintf("line %d: a manifest is a single YAML document; this is a second one", e.line)
}

// parseDocument parses data as one YAML document.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the manifest is empty")
		}
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, errSecondDocument{more.Line}
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &doc, nil
}

// yamlSyntaxRE matches a syntax error from the yaml parser.
var yamlSyntaxRE = regexp.MustCompile(`^yaml: (?:line \d+: )?(.+)$`)

// syntaxError gives a YAML syntax error the line at fault. The yaml parser
// reports the line where the enclosing block began (a bad indentation on
// line 6 of a list that starts on line 3 says "line 3"), so the line is
// found again as the shortest run of leading lines that fails with the same
// problem: a binary search, about 20 parses of at most the manifest.
func syntaxError(data []byte, err error) error {
	m := yamlSyntaxRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	problem := m[1]
	var ends []int // ends[i] is the offset just past line i+1
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(lines int) bool {
		_, err := parseDocument(data[:ends[lines-1]])
		if err == nil {
			return false
		}
		m := yamlSyntaxRE.FindStringSubmatch(err.Error())
		return m != nil && m[1] == problem
	}
	lo, hi := 1, len(ends) // fails(hi) holds: it is the whole manifest
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return fmt.Errorf("line %d: %s", lo, problem)
}

func (m *Manifest) validate(c *Child, path string, root bool) error {
	where := "root"
	if !root {
		where = path
	}
	if c.Strategy != "" {
		if c.Script != "" {
			return fmt.Errorf("line %d: %s: a child has either a script or a strategy, not both", c.line, where)
		}
		if c.Go != "" {
			return fmt.Errorf("line %d: %s: a child has either go (a Go actor) or a strategy, not both", c.line, where)
		}
		if len(c.Grants) > 0 {
			return fmt.Errorf("line %d: %s: a supervisor takes no grants", c.line, where)
		}
		if c.StartTimeout.D != 0 {
			return fmt.Errorf("line %d: %s: start_timeout belongs to workers (a supervisor is up once its children are)", c.line, where)
		}
		if c.Storage {
			return fmt.Errorf("line %d: %s: storage belongs to script workers (grant it to the children or the template)", c.line, where)
		}
		if t := c.Template; t != nil {
			if len(c.Children) > 0 {
				return fmt.Errorf("line %d: %s: a supervisor has children or a template, not both", t.line, where)
			}
			if t.Name != "" {
				return fmt.Errorf("line %d: %s: template: takes no name (dynamic children are numbered)", t.line, where)
			}
			if t.Strategy != "" {
				return fmt.Errorf("line %d: %s: template: must be a worker (script or go), not a supervisor", t.line, where)
			}
			if err := m.validate(t, joinPath(path, "template"), false); err != nil {
				return err
			}
		}
		if c.Intensity != nil && (*c.Intensity < 0 || *c.Intensity > 1_000_000) {
			return fmt.Errorf("line %d: %s: intensity: %d is out of range (0 to 1000000)", c.line, where, *c.Intensity)
		}
		seen := make(map[string]int)
		for i := range c.Children {
			ch := &c.Children[i]
			if ch.Name == "" {
				return fmt.Errorf("line %d: %s: a child needs a name", ch.line, where)
			}
			if !nameRE.MatchString(ch.Name) {
				return fmt.Errorf("line %d: name %q: use up to 128 letters, digits, '-', '_' or '.'", ch.line, ch.Name)
			}
			if prev, ok := seen[ch.Name]; ok {
				return fmt.Errorf("line %d: duplicate name %q (first on line %d)", ch.line, ch.Name, prev)
			}
			seen[ch.Name] = ch.line
			if err := m.validate(ch, joinPath(path, ch.Name), false); err != nil {
				return err
			}
		}
		return nil
	}
	if root {
		return fmt.Errorf("line %d: root: needs a strategy", c.line)
	}
	if c.Script != "" && c.Go != "" {
		return fmt.Errorf("line %d: %s: a worker runs a script or a Go actor (go), not both", c.line, where)
	}
	if c.Script == "" && c.Go == "" {
		return fmt.Errorf("line %d: %s: needs a script or a strategy (or go: a Go actor)", c.line, where)
	}
	if l := c.Limits; c.Go != "" && (l.CPU.D != 0 || l.Memory.N != 0 || l.Stack != 0 || l.Timers != 0) {
		return fmt.Errorf("line %d: %s: limits: cpu, memory, stack and timers bound scripts, not a Go actor (go)", l.line, where)
	}
	if c.Storage && c.Go != "" {
		return fmt.Errorf("line %d: %s: storage belongs to script workers, not a Go actor (go)", c.line, where)
	}
	if len(c.Children) > 0 || c.Intensity != nil || c.Period.D != 0 || c.Template != nil {
		return fmt.Errorf("line %d: %s: children, template, intensity and period belong to supervisors (add a strategy)", c.line, where)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Grants)) {
		g := c.Grants[name]
		if name == "" {
			return fmt.Errorf("line %d: %s: a grant needs a name", g.line, where)
		}
		if g.Kind != "" || g.isHTTP() {
			if err := g.checkHTTP(where, name); err != nil {
				return err
			}
			continue
		}
		if _, err := capability.ParseRights(g.Rights); err != nil {
			return fmt.Errorf("line %d: %s: grant %q: %w", g.line, where, name, err)
		}
		if len(g.Rights) == 0 {
			return fmt.Errorf("line %d: %s: grant %q: needs at least one right", g.line, where, name)
		}
	}
	return nil
}

// nameRE is what a child's name may be: it becomes part of a path.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

func (m *Manifest) collect(c *Child, path string, out map[string]bool) {
	out[path] = true
	for i := range c.Children {
		m.collect(&c.Children[i], joinPath(path, c.Children[i].Name), out)
	}
}

func (m *Manifest) checkGrants(c *Child, paths map[string]bool) error {
	for _, name := range slices.Sorted(maps.Keys(c.Grants)) {
		g := c.Grants[name]
		if g.Kind == "http" {
			continue
		}
		if g.To == "" || !paths[g.To] {
			return fmt.Errorf("line %d: grant %q: no process named %q (give a path from the root, like a/b)", g.line, name, g.To)
		}
	}
	for i := range c.Children {
		if err := m.checkGrants(&c.Children[i], paths); err != nil {
			return err
		}
	}
	if c.Template != nil {
		return m.checkGrants(c.Template, paths)
	}
	return nil
}

// Limits returns the node-wide default limits.
func (m *Manifest) Limits() isolate.Limits { return m.Defaults.Limits.isolate() }

// NodeLimits returns the node-wide bounds on processes and on call depth;
// zero takes the node's defaults.
func (m *Manifest) NodeLimits() (processes, callDepth int) {
	return m.Defaults.Limits.Processes, m.Defaults.Limits.CallDepth
}

// MailboxLimits returns the node-wide default mailbox limits.
func (m *Manifest) MailboxLimits() mailbox.Limits { return m.Defaults.Limits.mailbox() }

func (l Limits) mailbox() mailbox.Limits {
	return mailbox.Limits{Messages: l.Mailbox, Bytes: l.MailboxBytes.N, Overflow: mailbox.Overflow(l.Overflow), OutboxBytes: l.OutboxBytes.N}
}

func (l Limits) isolate() isolate.Limits {
	return isolate.Limits{CPU: l.CPU.D, Stack: l.Stack, MessageBytes: int(l.MessageBytes.N), Timers: l.Timers, Memory: int64(l.Memory.N)}
}

// pos is "file:line: ", or "line n: " for a manifest that was not loaded from a file.
func (m *Manifest) pos(line int) string {
	if m.file == "" {
		return at(line, "")
	}
	return fmt.Sprintf("%s:%d: ", m.file, line)
}

// Spec compiles every script (relative to the manifest) and returns the tree.
func (m *Manifest) Spec(c *isolate.Compiler) (actor.ChildSpec, error) {
	return m.spec(c, &m.Root, "")
}

func (m *Manifest) spec(comp *isolate.Compiler, c *Child, path string) (actor.ChildSpec, error) {
	s := actor.ChildSpec{Name: c.Name, Node: c.Node, Shutdown: c.Shutdown.D, StartTimeout: c.StartTimeout.D, Limits: c.Limits.isolate(), Restart: actor.RestartType(c.Restart),
		Mailbox: c.Limits.mailbox().WithDefaults(m.MailboxLimits())}
	m.storageSpec(c, &s)
	if c.Strategy != "" {
		intensity := supervisor.DefaultIntensity
		if c.Intensity != nil {
			intensity = *c.Intensity
		}
		switch c.Strategy {
		case "one_for_one":
			s.Strategy = supervisor.NewOneForOne(intensity, c.Period.D)
		case "one_for_all":
			s.Strategy = supervisor.NewOneForAll(intensity, c.Period.D)
		case "rest_for_one":
			s.Strategy = supervisor.NewRestForOne(intensity, c.Period.D)
		}
		for i := range c.Children {
			ch := &c.Children[i]
			cs, err := m.spec(comp, ch, joinPath(path, ch.Name))
			if err != nil {
				return s, err
			}
			s.Children = append(s.Children, cs)
		}
		if c.Template != nil {
			t, err := m.spec(comp, c.Template, joinPath(path, "template"))
			if err != nil {
				return s, err
			}
			s.Template = &t
			s.MaxChildren = c.Limits.Children
		}
		return s, nil
	}
	if c.Go != "" {
		// Resolved by the node against the receivers the embedding
		// program registered; Start names a missing one.
		s.Go = c.Go
	} else {
		script := c.Script
		if !filepath.IsAbs(script) {
			script = filepath.Join(m.dir, script)
		}
		sc, err := comp.Load(script)
		if err != nil {
			return s, fmt.Errorf("%s%s: %w", m.pos(c.line), path, err)
		}
		s.Script = sc
	}
	if c.Args.Kind != 0 {
		var v any
		if err := c.Args.Decode(&v); err != nil {
			return s, fmt.Errorf("%s%s: args: %w", m.pos(c.Args.Line), path, err)
		}
		b, err := msgpack.Marshal(v)
		if err != nil {
			return s, fmt.Errorf("%s%s: args: %w", m.pos(c.Args.Line), path, err)
		}
		s.Args = b
	}
	for _, name := range slices.Sorted(maps.Keys(c.Grants)) {
		g := c.Grants[name]
		if g.Kind == "http" {
			gs, err := g.httpSpec(name)
			if err != nil {
				return s, fmt.Errorf("%s%s: %w", m.pos(g.line), path, err)
			}
			s.Grants = append(s.Grants, gs)
			continue
		}
		rights, _ := capability.ParseRights(g.Rights)
		s.Grants = append(s.Grants, actor.GrantSpec{Name: name, To: g.To, Rights: rights})
	}
	return s, nil
}
