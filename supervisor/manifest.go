package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloister/actor"
	"cloister/capability"
	"cloister/isolate"

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

	dir  string // scripts are relative to it
	file string
}

// Defaults are the node-wide settings each child may override.
type Defaults struct {
	Limits Limits `yaml:"limits"`
}

// Child is one entry of the tree: a worker (script) or a supervisor
// (strategy with children or a template).
type Child struct {
	Name     string           `yaml:"name"`
	Script   string           `yaml:"script"`
	Args     yaml.Node        `yaml:"args"`
	Restart  RestartType      `yaml:"restart"`
	Shutdown Duration         `yaml:"shutdown"`
	Limits   Limits           `yaml:"limits"`
	Grants   map[string]Grant `yaml:"grants"`

	Strategy  StrategyName `yaml:"strategy"`
	Intensity *int         `yaml:"intensity"`
	Period    Duration     `yaml:"period"`
	Children  []Child      `yaml:"children"`
	Template  *Child       `yaml:"template"`

	line int
}

// Grant is a capability in a child's ctx.env.
type Grant struct {
	To     string   `yaml:"to"`
	Rights []string `yaml:"rights"`
	line   int
}

// Limits are per-actor limits; zero fields inherit.
type Limits struct {
	CPU          Duration `yaml:"cpu"`
	Memory       Size     `yaml:"memory"`
	Stack        int      `yaml:"stack"`
	Mailbox      int      `yaml:"mailbox"`
	MessageBytes Size     `yaml:"message_bytes"`
	Timers       int      `yaml:"timers"`
	Children     int      `yaml:"children"`
	line         int
}

// UnmarshalYAML records the line of a child for later errors.
func (c *Child) UnmarshalYAML(n *yaml.Node) error {
	type plain Child
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	c.line = n.Line
	return nil
}

// UnmarshalYAML records the line of a grant for later errors.
func (g *Grant) UnmarshalYAML(n *yaml.Node) error {
	type plain Grant
	if err := n.Decode((*plain)(g)); err != nil {
		return err
	}
	g.line = n.Line
	return nil
}

// UnmarshalYAML checks the limits' ranges.
func (l *Limits) UnmarshalYAML(n *yaml.Node) error {
	type plain Limits
	if err := n.Decode((*plain)(l)); err != nil {
		return err
	}
	l.line = n.Line
	for _, f := range []struct {
		name string
		v    int
		max  int
	}{{"stack", l.Stack, 100_000}, {"mailbox", l.Mailbox, 10_000_000}, {"timers", l.Timers, 1_000_000}, {"children", l.Children, 1_000_000}} {
		if f.v < 0 || f.v > f.max {
			return fmt.Errorf("line %d: limits.%s: %d is out of range (1 to %d)", n.Line, f.name, f.v, f.max)
		}
	}
	if l.CPU.D < 0 || l.CPU.D > time.Minute {
		return fmt.Errorf("line %d: limits.cpu: %v is out of range (up to 1m)", n.Line, l.CPU.D)
	}
	if l.MessageBytes.N > 64<<20 {
		return fmt.Errorf("line %d: limits.message_bytes: %d is over 64MiB", n.Line, l.MessageBytes.N)
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
	return fmt.Errorf("line %d: restart: %q is not permanent, transient or temporary", n.Line, n.Value)
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
	return fmt.Errorf("line %d: strategy: %q is not one_for_one, one_for_all or rest_for_one", n.Line, n.Value)
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
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, over the limit of %d", path, fi.Size(), max)
	}
	return os.ReadFile(path)
}

// Parse decodes and validates a manifest. Unknown fields are errors.
func Parse(data []byte) (*Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the manifest is empty")
		}
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
	return &m, nil
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
		if len(c.Grants) > 0 {
			return fmt.Errorf("line %d: %s: a supervisor takes no grants", c.line, where)
		}
		if c.Template != nil {
			return fmt.Errorf("line %d: %s: template (dynamic children) is not supported yet", c.Template.line, where)
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
			if strings.ContainsAny(ch.Name, "/ \t\n") || len(ch.Name) > 128 {
				return fmt.Errorf("line %d: name %q: use letters, digits, '-', '_' or '.'", ch.line, ch.Name)
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
	if c.Script == "" {
		return fmt.Errorf("line %d: %s: needs a script or a strategy", c.line, where)
	}
	if len(c.Children) > 0 || c.Intensity != nil || c.Period.D != 0 {
		return fmt.Errorf("line %d: %s: children, intensity and period belong to supervisors (add a strategy)", c.line, where)
	}
	for name, g := range c.Grants {
		if name == "" {
			return fmt.Errorf("line %d: %s: a grant needs a name", g.line, where)
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
	for name, g := range c.Grants {
		if g.To == "" || !paths[g.To] {
			return fmt.Errorf("line %d: grant %q: no process named %q (give a path from the root, like a/b)", g.line, name, g.To)
		}
	}
	for i := range c.Children {
		if err := m.checkGrants(&c.Children[i], paths); err != nil {
			return err
		}
	}
	return nil
}

// Limits returns the node-wide default limits.
func (m *Manifest) Limits() isolate.Limits { return m.Defaults.Limits.isolate() }

func (l Limits) isolate() isolate.Limits {
	return isolate.Limits{CPU: l.CPU.D, Stack: l.Stack, MessageBytes: int(l.MessageBytes.N), Timers: l.Timers}
}

// Spec compiles every script (relative to the manifest) and returns the tree.
func (m *Manifest) Spec(c *isolate.Compiler) (actor.ChildSpec, error) {
	return m.spec(c, &m.Root, "")
}

func (m *Manifest) spec(comp *isolate.Compiler, c *Child, path string) (actor.ChildSpec, error) {
	s := actor.ChildSpec{Name: c.Name, Shutdown: c.Shutdown.D, Limits: c.Limits.isolate()}
	if c.Strategy != "" {
		intensity := DefaultIntensity
		if c.Intensity != nil {
			intensity = *c.Intensity
		}
		switch c.Strategy {
		case "one_for_one":
			s.Strategy = NewOneForOne(intensity, c.Period.D)
		case "one_for_all":
			s.Strategy = NewOneForAll(intensity, c.Period.D)
		case "rest_for_one":
			s.Strategy = NewRestForOne(intensity, c.Period.D)
		}
		for i := range c.Children {
			ch := &c.Children[i]
			cs, err := m.spec(comp, ch, joinPath(path, ch.Name))
			if err != nil {
				return s, err
			}
			s.Children = append(s.Children, cs)
		}
		return s, nil
	}
	script := c.Script
	if !filepath.IsAbs(script) {
		script = filepath.Join(m.dir, script)
	}
	sc, err := comp.Load(script)
	if err != nil {
		return s, fmt.Errorf("%s:%d: %s: %w", m.file, c.line, path, err)
	}
	s.Script = sc
	if c.Args.Kind != 0 {
		var v any
		if err := c.Args.Decode(&v); err != nil {
			return s, fmt.Errorf("%s:%d: %s: args: %w", m.file, c.Args.Line, path, err)
		}
		b, err := msgpack.Marshal(v)
		if err != nil {
			return s, fmt.Errorf("%s:%d: %s: args: %w", m.file, c.Args.Line, path, err)
		}
		s.Args = b
	}
	for _, name := range slices.Sorted(maps.Keys(c.Grants)) {
		g := c.Grants[name]
		rights, _ := capability.ParseRights(g.Rights)
		s.Grants = append(s.Grants, actor.GrantSpec{Name: name, To: g.To, Rights: rights})
	}
	return s, nil
}
