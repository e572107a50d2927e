package manifest

import (
	"path/filepath"

	"github.com/cloister-rt/cloister/actor"
)

// DefaultDataDir is where a manifest's storage lives when it names no
// data_dir: a directory next to the manifest.
const DefaultDataDir = "cloister-data"

// storageSpec copies c's storage grant and quota into s.
func (m *Manifest) storageSpec(c *Child, s *actor.ChildSpec) {
	if !c.Storage {
		return
	}
	s.Storage = true
	s.StorageQuota = c.Limits.Storage.N
	if s.StorageQuota == 0 {
		s.StorageQuota = m.Defaults.Limits.Storage.N
	}
}

// dataDir is the storage directory, resolved against the manifest's.
func (m *Manifest) dataDir() string {
	d := m.DataDir
	if d == "" {
		d = DefaultDataDir
	}
	if filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(m.dir, d)
}

// usesStorage reports whether any worker of the tree, templates
// included, is granted storage.
func usesStorage(s *actor.ChildSpec) bool {
	if s.Storage {
		return true
	}
	if s.Template != nil && usesStorage(s.Template) {
		return true
	}
	for i := range s.Children {
		if usesStorage(&s.Children[i]) {
			return true
		}
	}
	return false
}
